"""The generator package's exception type."""

from sedal.core.errors import SedalError


class GeneratorError(SedalError):
    """A problem the user can fix (bad spec, bad sources, bad output dir...).

    The message is one line, meant to be printed as ``error: <message>``.
    """
