"""The generator package's one exception type."""


class GeneratorError(Exception):
    """A problem the user can fix (bad spec, bad sources, bad output dir...).

    The message is one line, meant to be printed as ``error: <message>``.
    """
