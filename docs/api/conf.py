"""Sphinx configuration of sedal's API pages (``sphinx-build -W -b html docs/api OUT``)."""

from sedal import __version__

project = "sedal"
author = "sedal developers"
copyright = "2026, sedal developers (BSD-3-Clause)"
release = version = __version__
extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "none"
autosummary_generate = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
suppress_warnings = ["ref.python"]  # same-named members across modules (e.g. ``main``)


def _skip_sklearn_routing(app, what, name, obj, skip, options):
    """scikit-learn adds ``set_*_request`` methods to every estimator subclass; their
    docstrings point into scikit-learn's own docs."""
    return True if name.startswith("set_") and name.endswith("_request") else skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_sklearn_routing)
