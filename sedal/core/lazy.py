"""Lazy public names: a package's ``__getattr__`` imports a name's module on first use, so
that ``import sedal`` stays light (TensorFlow and Scaper load only when needed)."""

from __future__ import annotations

import importlib


def lazy_attribute(api: dict[str, str], package: str, name: str):
    """The public name ``name`` of ``package`` (``api``: name -> module), imported on use.

    Raises
    ------
    AttributeError
        ``name`` is not public.
    """
    try:
        module = api[name]
    except KeyError:
        raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def lazy_api(package: str, api: dict[str, str]):
    """``(__getattr__, __dir__)`` for a package whose public names are ``api``.

    Examples
    --------
    In a package's ``__init__.py``: ``__getattr__, __dir__ = lazy_api(__name__, _API)``.
    """
    names = sorted(api)

    def getattr_(name: str):
        return lazy_attribute(api, package, name)

    def dir_() -> list[str]:
        return list(names)

    return getattr_, dir_
