"""The generator package's one exception type."""


class GeneratorError(Exception):
    """A problem the user can fix (bad spec, bad sources, bad output dir...).

    The message is one line, meant to be printed as ``error: <message>``.
    """


class UnsafePathError(GeneratorError):
    """A path read from a file that would leave its root (or is not a path at all)."""
