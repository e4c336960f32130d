"""The sed package's exception type."""

from sedal.core.errors import SedalError


class SedError(SedalError):
    """A problem the user can fix (no weights, bad audio, stale store...).

    The message is one line, printed by the CLI as ``error: <message>``.
    """
