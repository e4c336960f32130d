"""Small helpers shared by tests."""

from __future__ import annotations


def interrupt_on_call(monkeypatch, owner, name: str, call: int) -> None:
    """Replace ``owner.name`` by a wrapper that raises KeyboardInterrupt on its ``call``-th
    call (1-based) and otherwise calls the original (a simulated Ctrl-C mid-job)."""
    real = getattr(owner, name)
    calls = {"n": 0}

    def wrapper(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def wait_until(condition, *, timeout: float = 60.0, what: str = "the condition",
               poll: float = 0.05):
    """Poll ``condition()`` until it returns something truthy (returned) or ``timeout``
    seconds pass (AssertionError naming ``what``): a wait on a condition, never a bare
    sleep."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def json_paths(obj, prefix=()):
    """Every ``(path, value)`` in a JSON document (a path is a tuple of keys and indices)."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from json_paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from json_paths(v, prefix + (i,))


def load_script(name: str):
    """The module of ``scripts/<name>.py`` (the scripts folder is not a package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
