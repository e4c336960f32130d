"""The benchmark package's exception type."""

from sedal.core.errors import SedalError


class BenchmarkError(SedalError):
    """A problem the user can fix; printed by the CLI as ``error: <message>``."""
