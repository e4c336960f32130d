"""The errors every layer shares."""


class SedalError(Exception):
    """A problem the user can fix. The message is one line, printed by the command-line
    tools as ``error: <message>`` with exit status 2. Each layer has its own subclass
    (``GeneratorError``, ``SedError``, ``BenchmarkError``)."""


class UnsafePathError(SedalError):
    """A path read from a file that would leave its root (or is not a path at all)."""
