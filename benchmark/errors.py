"""The benchmark package's one exception type."""


class BenchmarkError(Exception):
    """A problem the user can fix; printed by the CLI as ``error: <message>``."""
