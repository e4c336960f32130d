"""Every docstring example in sedal runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest


def _modules() -> list[str]:
    names = []
    for pkg in ("sedal.core", "sedal.generator", "sedal.sed", "sedal.benchmark"):
        mod = importlib.import_module(pkg)
        names.append(pkg)
        names += [m.name for m in pkgutil.walk_packages(mod.__path__, pkg + ".")]
    return sorted(names)


MODULES = _modules()


def test_every_layer_is_found():
    assert {"sedal.core.fsutil", "sedal.generator.dataset", "sedal.sed.postprocess",
            "sedal.benchmark.al.aggregation"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(mod, name, globs={"np": np, **vars(mod)})
    for t in tests:
        runner.run(t)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} docstring example(s) of {name} failed (see above)"
