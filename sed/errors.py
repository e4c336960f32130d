"""The sed package's one exception type."""


class SedError(Exception):
    """A problem the user can fix (no weights, bad audio, stale store...).

    The message is one line, printed by the CLI as ``error: <message>``.
    """
