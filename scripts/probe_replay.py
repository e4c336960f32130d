"""Replay issue 31's hostile-input probes against the sedal code under an import root.

Usage::

    python scripts/probe_replay.py --root IMPORT_ROOT --out FILE.json \
        [--seed-cache DIR] [--label TEXT] [--only A1,L2,...] [--keep]

IMPORT_ROOT is a folder holding ``sedal/`` (with ``sedal/generator``, ``sedal/sed`` and
``sedal/benchmark`` laid out as the installed package); it is put first on ``PYTHONPATH``
and checked to be the code that is imported. Every probe goes through the outer interfaces
only: ``sedgen``/``sedbench`` command lines run as subprocesses, and HTTP against a
``sedbench annotate`` server, so that the same probes run on commits whose internals
differ. This script never imports sedal itself.

Each probe works in its own folder (the app probes share one server, started once) and
states its rule in code. A verdict is ``held`` (a one-line ``error:`` and exit 2, the
documented ``problem:`` listing of ``labels check``, an HTTP 4xx with a one-line JSON
message, or the documented behaviour), ``failed`` (a traceback, an HTTP 500, exit 0 with
silently wrong output, lost or overwritten data), ``not expressible at this commit`` or
``not replayed`` (with the reason).

``--seed-cache DIR`` copies ``DIR/yamnet`` (a sedal cache's converted YAMNet weights) into
the replay's own ``SEDAL_CACHE`` and sets ``SEDAL_OFFLINE=1``, so nothing is downloaded.
The two full-disk probes mount a 1 MB tmpfs and so need root (else: not replayed).

An import root for a commit, from a throwaway worktree::

    git worktree add /tmp/old-C C && mkdir -p /tmp/root-C
    cp -r /tmp/old-C/sedal /tmp/root-C/sedal
    for d in generator sed benchmark; do cp -r /tmp/old-C/$d /tmp/root-C/sedal/$d; done
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 16000
RAVEN_HEAD = ("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
              "High Freq (Hz)\tAnnotation\n")
SEDBENCH = "import sys; from sedal.benchmark.cli import main; sys.exit(main())"
SEDGEN = "import sys; from sedal.generator.cli import main; sys.exit(main())"
HELD, FAILED = "held", "failed"
NOT_EXPRESSIBLE, NOT_REPLAYED = "not expressible at this commit", "not replayed"


class ReplayError(Exception):
    """Bad arguments or an unusable import root: one line, exit 2."""


# -- results ---------------------------------------------------------------------------
@dataclass
class Run:
    """One command line or HTTP request and what came back."""

    command: str
    exit: int | None = None            # exit code, or HTTP status
    stdout: str = ""
    stderr: str = ""                   # stderr, or the response body for HTTP

    @property
    def traceback(self) -> bool:
        return "Traceback (most recent call last)" in self.stderr

    def first_line(self) -> str:
        for text in (self.stderr, self.stdout):
            for line in text.splitlines():
                if line.strip():
                    return line.strip()[:300]
        return ""


@dataclass
class Outcome:
    """One probe's record in the JSON output."""

    id: str
    issue: str
    probe: str
    rule: str
    verdict: str
    why: str
    command: str = ""
    exit: int | None = None
    traceback: bool = False
    first_line: str = ""
    seconds: float = 0.0
    detail: dict = field(default_factory=dict)


def outcome(pid: str, issue: str, rule: str, run: Run | None, verdict: str, why: str,
            **detail) -> Outcome:
    """An :class:`Outcome` filled from ``run`` (the probe's main command or request)."""
    o = Outcome(pid, issue, "", rule, verdict, why, detail=detail)
    if run is not None:
        o.command, o.exit, o.traceback, o.first_line = (run.command, run.exit, run.traceback,
                                                         run.first_line())
    return o


def one_line_error(run: Run) -> bool:
    """Exit 2, no traceback, exactly one ``error:`` line, and it is stderr's last line."""
    lines = [x for x in run.stderr.splitlines() if x.strip()]
    errors = [x for x in lines if x.startswith("error:")]
    return (run.exit == 2 and not run.traceback and len(errors) == 1
            and lines[-1].startswith("error:"))


def refused_by_labels_check(run: Run, needle: str) -> bool:
    """``labels check`` refused the table the documented way: exit 1 with ``problem:``
    lines (or a one-line ``error:``, exit 2), no traceback, the message holding ``needle``."""
    text = run.stdout + run.stderr
    return (not run.traceback and needle in text
            and (run.exit == 1 and "problem: " in run.stdout or one_line_error(run)))


def message(run: Run) -> str:
    """The first ``problem:`` or ``error:`` line the command printed (else its first line)."""
    for line in (run.stdout + "\n" + run.stderr).splitlines():
        if line.startswith(("problem: ", "error: ")):
            return line[:300]
    return run.first_line()


def json_error(run: Run) -> str | None:
    """The one-line ``error`` of a JSON 4xx answer, else ``None``."""
    if run.exit is None or not 400 <= run.exit < 500:
        return None
    try:
        msg = json.loads(run.stderr).get("error")
    except (ValueError, AttributeError):
        return None
    return msg if isinstance(msg, str) and msg and "\n" not in msg else None


# -- the code under test ---------------------------------------------------------------
class Replay:
    """The import root, a scratch folder, and fixtures shared by several probes."""

    def __init__(self, root: Path, work: Path, seed_cache: Path | None):
        self.root, self.work = root, work
        self.cache = work / "sedal-cache"
        self.cache.mkdir(parents=True)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("SEDAL_DEBUG", "SEDAL_YAMNET", "PYTHONPATH")}
        self.env.update(PYTHONPATH=str(root), SEDAL_CACHE=str(self.cache),
                        OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                        TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
        if seed_cache is not None:
            shutil.copytree(seed_cache / "yamnet", self.cache / "yamnet")
            self.env["SEDAL_OFFLINE"] = "1"
        self._fixtures: dict[str, object] = {}
        self.server_proc: subprocess.Popen | None = None

    def argv(self, tool: str, args: list[str]) -> list[str]:
        """The command line that runs ``tool`` from the import root (``-P``: no cwd)."""
        code = SEDBENCH if tool == "sedbench" else SEDGEN
        return [sys.executable, "-P", "-c", code, *map(str, args)]

    def shown(self, tool: str, args: list[str]) -> str:
        """``tool args`` as recorded: shell-quoted, the scratch folder written ``$W``."""
        return shlex.join([tool, *map(str, args)]).replace(str(self.work), "$W")

    def run(self, tool: str, args: list[str], *, timeout: float = 600) -> Run:
        """Run ``tool args`` (``sedbench`` or ``sedgen``) on the code under test."""
        shown = self.shown(tool, args)
        try:
            p = subprocess.run(self.argv(tool, args), env=self.env, cwd=self.work,
                               capture_output=True, text=True, timeout=timeout,
                               errors="replace")
        except subprocess.TimeoutExpired:
            return Run(shown, None, "", f"timed out after {timeout:g} s")
        unknown = re.search(r"error: (unrecognized arguments: .*|argument \S+: invalid choice.*)",
                            p.stderr)
        if p.returncode == 2 and unknown:
            raise NotExpressible(f"{shown}: {unknown.group(1)}")
        return Run(shown, p.returncode, p.stdout, p.stderr)

    def imported_file(self) -> str:
        """Where ``import sedal`` comes from under this replay's environment."""
        p = subprocess.run([sys.executable, "-P", "-c", "import sedal; print(sedal.__file__)"],
                           env=self.env, cwd=self.work, capture_output=True, text=True)
        return p.stdout.strip()

    def fixture(self, name: str, make: Callable[[], object]) -> object:
        """``make()`` once per replay (an exception is kept and re-raised for each user)."""
        if name not in self._fixtures:
            try:
                self._fixtures[name] = make()
            except NotReplayed as exc:
                self._fixtures[name] = exc
        value = self._fixtures[name]
        if isinstance(value, NotReplayed):
            raise value
        return value

    def folder(self, pid: str) -> Path:
        """A new folder for one probe or fixture."""
        path = self.work / pid
        path.mkdir()
        return path


class NotReplayed(Exception):
    """A probe (or a fixture it needs) could not be set up: recorded as not replayed."""


class NotExpressible(Exception):
    """The command line of this commit has no option the probe needs."""


# -- synthetic recordings and labels ---------------------------------------------------
def tone_wav(path: Path, i: int, seconds: float = 3.0, fmt: str | None = None) -> str:
    """Noise with a 1 s tone from 1 s on (800 Hz: ``dog``, 3 kHz: ``baby``); its class."""
    rng = np.random.default_rng(i)
    x = 0.02 * rng.standard_normal(int(seconds * SR))
    cls, hz = ("dog", 800.0) if i % 2 == 0 else ("baby", 3000.0)
    n = min(SR, len(x) - SR) if len(x) > SR else 0
    x[SR:SR + n] += 0.3 * np.sin(2 * np.pi * hz * np.arange(n) / SR)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), x.astype(np.float32), SR, format=fmt)
    return cls


def make_collection(folder: Path, n: int = 12, labelled: int = 8) -> tuple[Path, Path]:
    """``folder/audio`` with ``n`` recordings, ``folder/labels`` with Raven tables for the
    first ``labelled`` (dog and baby alternately)."""
    audio, labels = folder / "audio", folder / "labels"
    labels.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cls = tone_wav(audio / f"r{i:02d}.wav", i)
        if i < labelled:
            (labels / f"r{i:02d}.Table.1.selections.txt").write_text(
                RAVEN_HEAD + f"1\tSpectrogram 1\t1\t1.0\t2.0\t0\t8000\t{cls}\n")
    return audio, labels


def saved_model(rp: Replay) -> Path:
    """A model written by ``sedbench detect --save-model`` on the shared collection."""
    def make() -> Path:
        base = rp.folder("fixture-model")
        audio, labels = make_collection(base)
        r = rp.run("sedbench", ["detect", audio, "--labels", labels, "--out", base / "out",
                                "--save-model", base / "model", "-q"])
        if r.exit != 0 or not (base / "model" / "model.json").is_file():
            raise NotReplayed(f"the model could not be made: {r.command} -> exit {r.exit}: "
                              f"{r.first_line()}")
        return base / "model"
    return rp.fixture("model", make)


def label_check(rp: Replay, pid: str, files: dict[str, bytes],
                audio: tuple[str, ...] = ("x.wav",)) -> tuple[Run, Path]:
    """``sedbench labels check`` on 5 s recordings named ``audio`` and label ``files``."""
    base = rp.folder(pid)
    (base / "audio").mkdir()
    for name in audio:
        fmt = "MP3" if name.endswith(".mp3") else None
        sf.write(str(base / "audio" / name), np.zeros(5 * SR, np.float32), SR, format=fmt)
    for name, data in files.items():
        p = base / "labels" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return rp.run("sedbench", ["labels", "check", base / "audio", "--labels",
                               base / "labels"]), base


def raven(*rows: str) -> bytes:
    """A Raven selection table with the given data rows (tab-separated)."""
    return (RAVEN_HEAD + "".join(r + "\n" for r in rows)).encode("utf-8")


# -- label tables ----------------------------------------------------------------------
def probe_l1_raven_empty_class(rp: Replay, pid: str, issue: str) -> Outcome:
    """An empty Annotation cell in a Raven table."""
    rule = "held iff labels check refuses it naming 'empty class name' (no traceback)"
    r, _ = label_check(rp, pid, {"x.Table.1.selections.txt":
                                 raven("1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\t")})
    ok = refused_by_labels_check(r, "empty class name")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if ok else f"exit {r.exit}: {r.stdout.strip()[:200]!r}")


def probe_l2_audacity_empty_class(rp: Replay, pid: str, issue: str) -> Outcome:
    """An Audacity label row with no label text."""
    rule = "held iff labels check refuses it naming 'empty class name' (no traceback)"
    r, _ = label_check(rp, pid, {"x.txt": b"1.0\t2.0\n"})
    ok = refused_by_labels_check(r, "empty class name")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if ok else f"exit {r.exit}: {r.stdout.strip()[:200]!r}")


def probe_l3_dcase_empty_class(rp: Replay, pid: str, issue: str) -> Outcome:
    """An empty DCASE event_label."""
    rule = "held iff labels check refuses it naming 'empty class name' (no traceback)"
    r, _ = label_check(rp, pid, {"x.tsv": b"onset\toffset\tevent_label\n1.0\t2.0\t\n"})
    ok = refused_by_labels_check(r, "empty class name")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if ok else f"exit {r.exit}: {r.stdout.strip()[:200]!r}")


def probe_l4_one_selection_two_events(rp: Replay, pid: str, issue: str) -> Outcome:
    """Raven Selection 1 on two rows: dog 1-2 s and baby 3-4 s."""
    rule = "held iff labels check refuses it naming 'selection 1' (no traceback)"
    r, _ = label_check(rp, pid, {"x.Table.1.selections.txt": raven(
        "1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog", "1\tWaveform 1\t1\t3.0\t4.0\t0\t8000\tbaby")})
    ok = refused_by_labels_check(r, "selection 1")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if ok else
                   f"exit {r.exit}, read as: {r.stdout.strip().splitlines()[:1]}")


def probe_l5_duplicated_selection(rp: Replay, pid: str, issue: str) -> Outcome:
    """The same box (dog 1-2 s) under Selection 1 and 2, plus dog 3-4 s."""
    rule = ("held iff the recording is counted with 2 dog events (the box once) and a "
            "warning names the duplicate; failed if counted 3 times without a warning")
    r, _ = label_check(rp, pid, {"x.Table.1.selections.txt": raven(
        "1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog", "2\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog",
        "3\tWaveform 1\t1\t3.0\t4.0\t0\t8000\tdog")})
    m = re.search(r"x\.wav: dog (\d+)", r.stdout)
    warned = any(w.startswith("warning:") and "line 3" in w for w in r.stderr.splitlines())
    ok = not r.traceback and r.exit == 0 and m is not None and m.group(1) == "2" and warned
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   f"dog counted {m.group(1) if m else '?'} time(s); "
                   f"{'a' if warned else 'no'} warning")


def probe_l6_latin1(rp: Replay, pid: str, issue: str) -> Outcome:
    """A Latin-1 Raven table whose class is 'Händin'."""
    rule = ("held iff refused with 'UTF-8' and a line number, or read as 'Händin' with the "
            "fallback stated; failed if read with U+FFFD replacements or the bytes dropped")
    data = raven("1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tH\u00e4ndin").decode().encode("latin-1")
    r, _ = label_check(rp, pid, {"x.Table.1.selections.txt": data})
    text = r.stdout + r.stderr
    refused = refused_by_labels_check(r, "UTF-8") and "line 2" in text
    stated = r.exit == 0 and "H\u00e4ndin" in r.stdout and "latin" in text.lower()
    read_as = re.search(r"x\.wav: (.*?)  \(", r.stdout)
    return outcome(pid, issue, rule, r, HELD if refused or stated else FAILED,
                   message(r) if refused else "decoded, fallback stated" if stated
                   else f"exit {r.exit}, read as {read_as.group(1) if read_as else '?'!r}")


def probe_l7_nul_in_class(rp: Replay, pid: str, issue: str) -> Outcome:
    """A NUL character inside a Raven class name ('dog\\x00')."""
    rule = "held iff labels check refuses it naming 'control character' (no traceback)"
    r, _ = label_check(rp, pid, {"x.Table.1.selections.txt":
                                 raven("1\tWaveform 1\t1\t1.0\t2.0\t0\t8000\tdog\x00")})
    ok = refused_by_labels_check(r, "control character")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if ok else f"exit {r.exit}: {r.stdout.strip()[:200]!r}")


def probe_l8_newline_in_class(rp: Replay, pid: str, issue: str) -> Outcome:
    """A newline inside a quoted CSV class name ('cat\\nevil')."""
    rule = "held iff labels check refuses it naming 'control character' (no traceback)"
    r, _ = label_check(rp, pid, {"x.csv": b'onset,offset,label\n1.0,2.0,"cat\nevil"\n'})
    ok = refused_by_labels_check(r, "control character")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if ok else f"exit {r.exit}: {r.stdout.strip()[:200]!r}")


def probe_l9_same_stem_labels(rp: Replay, pid: str, issue: str) -> Outcome:
    """``a.flac`` and ``a.mp3`` in one collection with ``labels/a.txt``."""
    rule = ("held iff refused (exit 1 or 2, no traceback) naming both a.flac and a.mp3; "
            "failed if a.txt is assigned to one of them with exit 0")
    r, _ = label_check(rp, pid, {"a.txt": b"1.0\t2.0\tdog\n"}, audio=("a.flac", "a.mp3"))
    text = r.stdout + r.stderr
    ok = r.exit in (1, 2) and not r.traceback and "a.flac" in text and "a.mp3" in text
    assigned = re.findall(r"^(a\.\w+): dog", r.stdout, flags=re.M)
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if ok else f"exit {r.exit}; labels assigned to "
                   f"{assigned or 'neither'}")


# -- audio folders ---------------------------------------------------------------------
def query_on(rp: Replay, pid: str, extra: dict[str, np.ndarray | bytes]) -> tuple[Run, Path]:
    """``sedbench query`` (batch = every recording) on the shared collection plus ``extra``
    files (name -> samples, or raw bytes)."""
    base = rp.folder(pid)
    audio, labels = make_collection(base)
    for name, x in extra.items():
        if isinstance(x, bytes):
            (audio / name).write_bytes(x)
        else:
            sf.write(str(audio / name), x, SR)
    r = rp.run("sedbench", ["query", audio, "--labels", labels, "--out", base / "out",
                            "--batch", "20", "-q"])
    return r, base / "out"


def probe_f1_one_sample_wav(rp: Replay, pid: str, issue: str) -> Outcome:
    """A 1-sample wav beside 12 normal recordings, ranked by ``sedbench query``."""
    rule = ("held iff query exits 0 (or one-line error) and one_sample.wav is in neither "
            "ranking.csv nor the batch tables; failed if it is ranked or queued, or a traceback")
    r, out = query_on(rp, pid, {"one_sample.wav": np.array([0.1], np.float32)})
    ranking = (out / "ranking.csv").read_text() if (out / "ranking.csv").is_file() else ""
    queued = [p.name for p in (out / "batch").rglob("one_sample*")] if out.is_dir() else []
    ranked = "one_sample" in ranking
    ok = (r.exit == 0 or one_line_error(r)) and not r.traceback and not ranked and not queued
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   "not ranked, not queued" if ok else
                   f"exit {r.exit}; ranked: {ranked}; batch files: {queued}")


def probe_f2_newline_in_file_name(rp: Replay, pid: str, issue: str) -> Outcome:
    """An unreadable file named 'evil\nrow.wav' (so that query's summary.md lists it as
    skipped) in the collection ``sedbench query`` ranks."""
    rule = ("held iff no traceback, no .md/.txt/.tsv output holds a line starting with "
            "'row.wav' (the raw name split into a forged line; CSV quoting is not counted) "
            "and no output file name holds a newline")
    r, out = query_on(rp, pid, {"evil\nrow.wav": b"not audio\n" * 10})
    files = [p for p in out.rglob("*") if p.is_file()] if out.is_dir() else []
    forged = [str(p.relative_to(out)) for p in files if p.suffix in (".md", ".txt", ".tsv")
              and re.search(r"^row\.wav", p.read_text(errors="replace"), flags=re.M)]
    raw_names = [str(p.relative_to(out)) for p in files if "\n" in str(p.relative_to(out))]
    ok = not r.traceback and r.exit in (0, 2) and not forged and not raw_names
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   "the name is never written raw" if ok else
                   f"exit {r.exit}; forged lines in {forged}; file names with a newline: "
                   f"{raw_names}")


def probe_f3_same_stem_detect(rp: Replay, pid: str, issue: str) -> Outcome:
    """12 recordings, two named a.flac and a.mp3, through ``detect --model``."""
    rule = ("held iff refused by a one-line error naming a.flac and a.mp3, or exit 0 with "
            "12 distinct Raven tables; failed if exit 0 with fewer tables than recordings")
    model = saved_model(rp)
    base = rp.folder(pid)
    for i in range(10):
        tone_wav(base / "audio" / f"r{i:02d}.wav", i)
    tone_wav(base / "audio" / "a.flac", 0)
    tone_wav(base / "audio" / "a.mp3", 1, fmt="MP3")
    r = rp.run("sedbench", ["detect", base / "audio", "--model", model, "--out",
                            base / "out", "-q"])
    tables = list((base / "out" / "raven").rglob("*.txt")) if r.exit == 0 else []
    refused = one_line_error(r) and "a.flac" in r.stderr and "a.mp3" in r.stderr
    ok = refused or (r.exit == 0 and len(tables) == 12)
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   message(r) if refused else f"exit {r.exit}; 12 recordings, "
                   f"{len(tables)} Raven tables", tables=len(tables))


# -- saved models ----------------------------------------------------------------------
def tamper(src: Path, dest: Path, *, npz: dict | None = None, meta: dict | None = None,
           truncate: int | None = None, unseal: bool = True) -> Path:
    """A copy of the model ``src`` at ``dest`` with arrays or model.json keys replaced.

    ``unseal`` drops ``arrays_sha256`` from model.json (absent at older commits), so that
    the edited arrays reach the schema, shape and finiteness checks rather than only the
    checksum; a truncated copy keeps it (``unseal=False``)."""
    shutil.copytree(src, dest)
    if npz:
        with np.load(dest / "model.npz") as z:
            arrays = {k: z[k] for k in z.files}
        arrays.update({k: v(arrays) if callable(v) else v for k, v in npz.items()})
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        (dest / "model.npz").write_bytes(buf.getvalue())
    if truncate is not None:
        (dest / "model.npz").write_bytes((dest / "model.npz").read_bytes()[:truncate])
    doc = json.loads((dest / "model.json").read_text())
    doc.update(meta or {})
    if unseal:
        doc.pop("arrays_sha256", None)
    (dest / "model.json").write_text(json.dumps(doc))
    return dest


def detect_with(rp: Replay, pid: str, **damage) -> tuple[Run, Path]:
    """``sedbench detect --model`` with a tampered copy of the saved model, on 4 recordings."""
    model = saved_model(rp)
    base = rp.folder(pid)
    for i in range(4):
        tone_wav(base / "audio" / f"r{i:02d}.wav", i)
    bad = tamper(model, base / "model", **damage)
    return rp.run("sedbench", ["detect", base / "audio", "--model", bad, "--out",
                               base / "out", "-q"]), base / "out"


MODEL_RULE = ("held iff detect ends with exit 2 and one 'error:' line naming the model folder "
              "(no traceback)")


def model_outcome(pid: str, issue: str, r: Run, rule: str = MODEL_RULE, **detail) -> Outcome:
    """Verdict of a tampered-model probe by :data:`MODEL_RULE`."""
    named = f"/{pid}/model" in message(r)
    ok = one_line_error(r) and named
    why = message(r) if ok else "traceback" if r.traceback else (
        f"one line, naming no model file: {message(r)}" if one_line_error(r)
        else f"exit {r.exit}: {r.stdout.strip()[-200:]!r}")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED, why, **detail)


def probe_m1_truncated_npz(rp: Replay, pid: str, issue: str) -> Outcome:
    """model.npz cut to its first 300 bytes (model.json untouched)."""
    r, _ = detect_with(rp, pid, truncate=300, unseal=False)
    return model_outcome(pid, issue, r)


def probe_m2_shape(rp: Replay, pid: str, issue: str) -> Outcome:
    """coef with one column fewer than the other arrays."""
    r, _ = detect_with(rp, pid, npz={"coef": lambda a: a["coef"][:, :-1]})
    return model_outcome(pid, issue, r)


def probe_m2b_columns_beyond_the_embedding(rp: Replay, pid: str, issue: str) -> Outcome:
    """Arrays that fit one another, but a feature column (``cols``) beyond the embedding's
    1024 dimensions: a shape that does not match the features detect computes."""
    def cols(a):
        c = a["cols"].copy()
        c[-1] = 5000
        return c
    r, _ = detect_with(rp, pid, npz={"cols": cols})
    return model_outcome(pid, issue, r)


def probe_m3_classifier_name(rp: Replay, pid: str, issue: str) -> Outcome:
    """model.json's classifier given as a name ('no-such-classifier') instead of its
    settings object. (The detector's own 'name' key is only a label: both commits ignore it
    and detect with the settings, modes and recipe stored beside it.)"""
    r, _ = detect_with(rp, pid, meta={"classifier": "no-such-classifier"})
    return model_outcome(pid, issue, r)


def probe_m4_zero_d_mean(rp: Replay, pid: str, issue: str) -> Outcome:
    """The scaler's mean stored as a 0-d array."""
    r, _ = detect_with(rp, pid, npz={"mean": np.float32(0.0)})
    return model_outcome(pid, issue, r)


def probe_m5_text_postprocess(rp: Replay, pid: str, issue: str) -> Outcome:
    """post-processing merge_gap = 'wide'."""
    r, _ = detect_with(rp, pid, meta={"postprocess": {"merge_gap": "wide"}})
    return model_outcome(pid, issue, r)


def probe_m6_integer_classes(rp: Replay, pid: str, issue: str) -> Outcome:
    """classes = [0, 1, 2]."""
    r, _ = detect_with(rp, pid, meta={"classes": [0, 1, 2]})
    return model_outcome(pid, issue, r)


def probe_m7_nan_coefficients(rp: Replay, pid: str, issue: str) -> Outcome:
    """Every coefficient NaN."""
    rule = MODEL_RULE + "; exit 0 (e.g. '0 events') is silently wrong output"
    r, _ = detect_with(rp, pid, npz={"coef": lambda a: np.full_like(a["coef"], np.nan)})
    return model_outcome(pid, issue, r, rule)


def probe_m8_newline_class(rp: Replay, pid: str, issue: str) -> Outcome:
    """The class 'dog' renamed 'cat\\nevil' in model.json."""
    model = saved_model(rp)
    classes = json.loads((model / "model.json").read_text())["classes"]
    r, out = detect_with(rp, pid, meta={"classes": [
        "cat\nevil" if c == "dog" else c for c in classes]})
    tsv = out / "detections.tsv"
    injected = tsv.is_file() and bool(re.search(r"^evil", tsv.read_text(), flags=re.M))
    return model_outcome(pid, issue, r, MODEL_RULE + "; an 'evil' row in detections.tsv is "
                         "recorded as injection", injected_row=injected)


# -- the annotate app over HTTP ---------------------------------------------------------
@dataclass
class Server:
    """A running ``sedbench annotate``: its URL, token, log and first recording."""

    base: str
    token: str
    log: Path
    rel: str


def server(rp: Replay) -> Server:
    """Start ``sedbench annotate`` once (collection + a link to a wav outside it)."""
    def make() -> Server:
        base = rp.folder("fixture-annotate")
        audio, labels = make_collection(base)
        tone_wav(base / "outside" / "secret.wav", 3)
        (audio / "evil.wav").symlink_to(base / "outside" / "secret.wav")
        log = base / "server.log"
        args = ["annotate", audio, "--labels", labels, "--out", base / "out", "--no-browser",
                "--port", "0", "-q"]
        with open(log, "wb") as err:  # the child keeps its own copy of the descriptor
            rp.server_proc = subprocess.Popen(rp.argv("sedbench", args), env=rp.env,
                                              cwd=rp.work, stdout=subprocess.PIPE, stderr=err)
        url = _wait_for_url(rp.server_proc, timeout=300)
        if url is None:
            raise NotReplayed(f"the annotate server did not start: {rp.shown('sedbench', args)}"
                              f"; {log.read_text(errors='replace')[-300:]}")
        m = re.match(r"(http://[^/]+)/\?token=(\S+)", url)
        rows = json.loads(request(Server(m.group(1), m.group(2), log, ""), "GET",
                                  "/api/queue", token=True).stderr)["rows"]
        return Server(m.group(1), m.group(2), log, rows[0]["rel"])
    return rp.fixture("server", make)


def _wait_for_url(proc: subprocess.Popen, timeout: float) -> str | None:
    """The ``open http://...`` URL the annotate command prints, or None."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline, buf = time.monotonic() + timeout, b""
    while time.monotonic() < deadline and proc.poll() is None:
        if sel.select(timeout=1.0):
            buf += proc.stdout.read1(4096)
            m = re.search(rb"open (http://\S+)", buf)
            if m:
                return m.group(1).decode()
    return None


def request(srv: Server, method: str, path: str, *, token: bool | bytes = False,
            body: bytes | None = None, declared: int | None = None,
            timeout: float = 30) -> Run:
    """One HTTP request; the body of the answer lands in ``Run.stderr`` (and the server's
    log lines written meanwhile in ``Run.stdout``). ``declared`` sends only a
    Content-Length header of that many bytes and no body."""
    host, port = srv.base.removeprefix("http://").rsplit(":", 1)
    shown = f"{method} {path}" + (f" (body {len(body)} bytes)" if body is not None else "")
    shown += f" (Content-Length: {declared}, no body sent)" if declared is not None else ""
    offset = srv.log.stat().st_size if srv.log.exists() else 0
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest(method, path)
        if token:
            conn.putheader("X-Sedal-Token", srv.token if token is True else token)
        length = declared if declared is not None else len(body) if body is not None else None
        if length is not None:
            conn.putheader("Content-Length", str(length))
        conn.endheaders(body if declared is None else None)
        resp = conn.getresponse()
        status, data = resp.status, resp.read()
    except (TimeoutError, OSError) as exc:
        status, data = None, f"no answer: {exc!r}".encode()
    finally:
        conn.close()
    time.sleep(0.2)  # let the server flush what it logs about this request
    logged = srv.log.read_bytes()[offset:].decode(errors="replace")
    return Run(shown, status, logged, data.decode(errors="replace"))


def app_outcome(pid: str, issue: str, r: Run, rule: str) -> Outcome:
    """Held iff a 4xx with a one-line JSON ``error`` and no traceback in the server log."""
    msg = json_error(r)
    ok = msg is not None and "Traceback" not in r.stdout
    o = outcome(pid, issue, rule, r, HELD if ok else FAILED,
                f"{r.exit}: {msg}" if ok else f"HTTP {r.exit}" + (
                    "; traceback in the server log" if "Traceback" in r.stdout else ""))
    o.traceback = "Traceback" in r.stdout
    return o


APP_RULE = "held iff HTTP 4xx with a one-line JSON error and no traceback in the server log"


def probe_a1_token_in_url(rp: Replay, pid: str, issue: str) -> Outcome:
    """``GET /api/queue?token=%C3%A9``."""
    return app_outcome(pid, issue, request(server(rp), "GET", "/api/queue?token=%C3%A9"),
                       APP_RULE)


def probe_a2_token_header(rp: Replay, pid: str, issue: str) -> Outcome:
    """``X-Sedal-Token`` with the raw UTF-8 bytes of 'été'."""
    r = request(server(rp), "GET", "/api/queue", token="\u00e9t\u00e9".encode())
    return app_outcome(pid, issue, r, APP_RULE)


def _digits_body() -> bytes:
    """An events body whose onset is a 400-digit integer."""
    return ('{"events": [{"onset": ' + "9" * 400 + ', "offset": 2, "label": "dog"}]}').encode()


def probe_a3_big_number_labels(rp: Replay, pid: str, issue: str) -> Outcome:
    """``PUT /api/labels`` with a 400-digit onset."""
    srv = server(rp)
    r = request(srv, "PUT", f"/api/labels?rel={srv.rel}", token=True, body=_digits_body())
    return app_outcome(pid, issue, r, APP_RULE)


def probe_a4_big_number_draft(rp: Replay, pid: str, issue: str) -> Outcome:
    """``PUT /api/draft`` with a 400-digit onset."""
    srv = server(rp)
    r = request(srv, "PUT", f"/api/draft?rel={srv.rel}", token=True, body=_digits_body())
    return app_outcome(pid, issue, r, APP_RULE)


def probe_a5_deep_json(rp: Replay, pid: str, issue: str) -> Outcome:
    """``PUT /api/labels`` with JSON nested 100 000 deep."""
    srv = server(rp)
    r = request(srv, "PUT", f"/api/labels?rel={srv.rel}", token=True,
                body=b"[" * 100_000 + b"]" * 100_000)
    return app_outcome(pid, issue, r, APP_RULE)


def probe_a6_body_size(rp: Replay, pid: str, issue: str) -> Outcome:
    """``PUT /api/labels`` declaring a 300 MB body; if the server waits for it, a real
    3 MiB body (valid JSON padded with spaces) is sent to see whether it is accepted."""
    rule = ("held iff the declared 300 MB body is answered 4xx (one-line JSON) from the "
            "header alone; else failed (then a real 3 MiB body shows whether it is accepted)")
    srv = server(rp)
    path = f"/api/labels?rel={srv.rel}"
    r = request(srv, "PUT", path, token=True, declared=300_000_000, timeout=10)
    if r.exit is not None:
        return app_outcome(pid, issue, r, rule)
    big = request(srv, "PUT", path, token=True,
                  body=b'{"events": []' + b" " * (3 << 20) + b"}")
    return outcome(pid, issue, rule, big, FAILED,
                   f"no answer to the 300 MB header within 10 s (the server waits for the "
                   f"body); a 3 MiB body got HTTP {big.exit}", declared_only=r.stderr)


def probe_a7_link_outside(rp: Replay, pid: str, issue: str) -> Outcome:
    """A symlink evil.wav in the collection pointing to a wav outside it."""
    rule = "held iff evil.wav is not in /api/queue and /api/audio?rel=evil.wav is a 4xx"
    srv = server(rp)
    q = request(srv, "GET", "/api/queue", token=True)
    listed = "evil.wav" in {row["rel"] for row in json.loads(q.stderr)["rows"]}
    a = request(srv, "GET", "/api/audio?rel=evil.wav", token=True)
    ok = not listed and a.exit is not None and 400 <= a.exit < 500
    r = Run("GET /api/queue; GET /api/audio?rel=evil.wav", a.exit, a.stdout,
            f"listed: {listed}; audio: HTTP {a.exit}")
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   f"listed in the queue: {listed}; served: {a.exit == 200}")


# -- full disks, kills and concurrent runs ---------------------------------------------
def dataset(rp: Replay) -> Path:
    """A 40-file built-in clean dataset with its feature store (``sedgen make`` + ``embed``)."""
    def make() -> Path:
        ds = rp.folder("fixture-dataset") / "ds"
        for tool, args in (("sedgen", ["make", "--n-files", "40", "--builtin", "clean",
                                       "--out", ds, "--jobs", "1", "--no-progress"]),
                           ("sedbench", ["embed", ds, "-q"])):
            r = rp.run(tool, args)
            if r.exit != 0:
                raise NotReplayed(f"the dataset could not be made: {r.command} -> exit "
                                  f"{r.exit}: {r.first_line()}")
        return ds
    return rp.fixture("dataset", make)


class Tmpfs:
    """A small tmpfs mounted at ``path`` (root only), optionally filled to the brim."""

    def __init__(self, path: Path, size: str, fill: bool = False):
        self.path, self.size, self.fill = path, size, fill

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or shutil.which("mount") is None:
            raise NotReplayed("a full disk needs a small tmpfs, and mounting one needs root")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs",
                            str(self.path)], capture_output=True, text=True)
        if p.returncode != 0:
            raise NotReplayed(f"cannot mount a tmpfs: {p.stderr.strip()}")
        if self.fill:
            try:
                with open(self.path / "filler", "wb") as fh:
                    while True:
                        fh.write(b"\0" * 65536)
            except OSError:
                pass
        return self.path

    def __exit__(self, *exc) -> None:
        subprocess.run(["umount", str(self.path)], capture_output=True)


def full_disk_outcome(pid: str, issue: str, r: Run, out: Path) -> Outcome:
    """Held iff one ``error:`` line, exit 2, saying 'No space left on device' and naming a
    file inside ``out``."""
    rule = ("held iff exit 2 with one 'error: No space left on device: FILE' line naming a "
            "file inside --out (no traceback)")
    last = (r.stderr.strip().splitlines() or [""])[-1]
    shown = str(out).replace(str(out.parents[1]), "$W/" + out.parents[1].name)
    ok = one_line_error(r) and "No space left on device" in last and (
        str(out) in last or shown in last)
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   "names the file" if ok else "traceback" if r.traceback else
                   f"exit {r.exit}; the message names no file inside --out")


def probe_s1_make_full_disk(rp: Replay, pid: str, issue: str) -> Outcome:
    """``sedgen make`` (20 files) into a 1 MB tmpfs."""
    base = rp.folder(pid)
    with Tmpfs(base / "small", "1m") as mnt:
        r = rp.run("sedgen", ["make", "--n-files", "20", "--builtin", "clean", "--out",
                              mnt / "ds", "--jobs", "1", "--no-progress"])
        return full_disk_outcome(pid, issue, r, mnt / "ds")


def probe_s2_run_full_disk(rp: Replay, pid: str, issue: str) -> Outcome:
    """``sedbench run`` whose --out is on a full 1 MB tmpfs."""
    ds = dataset(rp)
    base = rp.folder(pid)
    with Tmpfs(base / "small", "1m", fill=True) as mnt:
        r = rp.run("sedbench", ["run", ds, "--seeds", "0", "--strategy", "random",
                                "--max-fraction", "0.5", "--out", mnt / "r", "-q"])
        return full_disk_outcome(pid, issue, r, mnt / "r")


def probe_s3_kill_detect(rp: Replay, pid: str, issue: str) -> Outcome:
    """``kill -9`` of ``detect --model`` (40 recordings) as soon as its first Raven table
    appears (up to 3 tries when detect finishes before the kill lands)."""
    rule = ("held iff the killed folder is marked (an INCOMPLETE file) or holds no tables; "
            "failed if it holds tables without summary.md and without a marker")
    model = saved_model(rp)
    base = rp.folder(pid)
    for i in range(40):
        tone_wav(base / "audio" / f"r{i:02d}.wav", i, seconds=1.5)
    for attempt in range(1, 4):
        out = base / f"out{attempt}"
        args = ["detect", base / "audio", "--model", model, "--out", out, "-q"]
        proc = subprocess.Popen(rp.argv("sedbench", args), env=rp.env, cwd=rp.work,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killed = _kill_when(proc, lambda tables=out / "raven": tables.is_dir() and any(
            tables.iterdir()), timeout=600)
        err = proc.stderr.read().decode(errors="replace")
        r = Run(rp.shown("sedbench", args) + "; kill -9 at its first Raven table",
                proc.returncode, "", err)
        if killed:
            break
    else:
        return outcome(pid, issue, rule, r, NOT_REPLAYED,
                       "detect finished before the kill landed, 3 times")
    left = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    tables = [p for p in left if p.startswith("raven/")]
    marked = any(Path(p).name.upper().startswith("INCOMPLETE") for p in left)
    ok = marked or not tables
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   f"{len(tables)} table(s), summary.md: {'summary.md' in left}, "
                   f"marker: {marked}", files=[p for p in left if not p.startswith(
                       ("raven/", "audacity/"))])


def _kill_when(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float) -> bool:
    """SIGKILL ``proc`` once ``ready()``; False if it ended (or timed out) first."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.001)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    return False


def probe_s4_two_runs(rp: Replay, pid: str, issue: str) -> Outcome:
    """Two ``sedbench run`` (8 seeds) started together on one --out."""
    rule = ("held iff both exit 0 and their 'N run(s) done' add up to 8 (each run computed "
            "once); failed if they add up to more (runs redone) or one fails")
    ds = dataset(rp)
    out = rp.folder(pid) / "r"
    args = ["run", ds, "--seeds", "0-7", "--strategy", "random", "--max-fraction", "0.5",
            "--out", out, "-q"]
    procs = [subprocess.Popen(rp.argv("sedbench", args), env=rp.env, cwd=rp.work, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    done = [re.search(r"(\d+) run\(s\) done", so) for so, _ in outs]
    counts = [int(m.group(1)) if m else None for m in done]
    r = Run(rp.shown("sedbench", args) + " (twice, at once)",
            max(p.returncode for p in procs), "\n".join(so for so, _ in outs),
            "\n".join(se for _, se in outs))
    ok = all(p.returncode == 0 for p in procs) and None not in counts and sum(counts) == 8
    return outcome(pid, issue, rule, r, HELD if ok else FAILED,
                   f"runs computed by each: {counts} (8 seeds)", computed=counts)


# -- the probe list and the driver -----------------------------------------------------
PROBES: list[tuple[str, str, Callable[[Replay, str, str], Outcome]]] = [
    ("A1", "non-ASCII token ?token=%C3%A9 -> HTTP 500", probe_a1_token_in_url),
    ("A2", "non-ASCII bytes in X-Sedal-Token -> HTTP 500", probe_a2_token_header),
    ("A3", "400-digit onset in PUT /api/labels -> 500 (OverflowError)",
     probe_a3_big_number_labels),
    ("A4", "400-digit onset in PUT /api/draft -> 500 (OverflowError)",
     probe_a4_big_number_draft),
    ("A5", "JSON nested 100 000 deep -> 500 (RecursionError)", probe_a5_deep_json),
    ("A6", "no request size limit: a 300 MB PUT body is buffered whole and accepted",
     probe_a6_body_size),
    ("A7", "a symlink in the collection to a wav outside it is listed and served",
     probe_a7_link_outside),
    ("L1", "empty class name (empty Raven Annotation cell) accepted, exit 0",
     probe_l1_raven_empty_class),
    ("L2", "empty class name (Audacity row without a label) accepted, exit 0",
     probe_l2_audacity_empty_class),
    ("L3", "empty class name (empty DCASE event_label) accepted, exit 0",
     probe_l3_dcase_empty_class),
    ("L4", "one Raven Selection on two different events: the second dropped silently",
     probe_l4_one_selection_two_events),
    ("L5", "duplicated selections counted twice without a warning",
     probe_l5_duplicated_selection),
    ("L6", "a Latin-1 table read with U+FFFD replacements", probe_l6_latin1),
    ("L7", "control character (NUL) accepted inside a class name", probe_l7_nul_in_class),
    ("L8", "control character (newline) accepted inside a class name",
     probe_l8_newline_in_class),
    ("L9", "a.flac and a.mp3: labels/a.txt assigned to one of them silently",
     probe_l9_same_stem_labels),
    ("F1", "a 1-sample wav is ranked and put into the next annotation batch",
     probe_f1_one_sample_wav),
    ("F2", "a newline in a file name is written raw into summary.md",
     probe_f2_newline_in_file_name),
    ("F3", "a.flac and a.mp3 write the same detect table (12 recordings, 11 tables)",
     probe_f3_same_stem_detect),
    ("M1", "saved model: truncated model.npz -> traceback", probe_m1_truncated_npz),
    ("M2", "saved model: a shape that does not match -> traceback", probe_m2_shape),
    ("M2b", "saved model: a shape that does not match (the features) -> traceback",
     probe_m2b_columns_beyond_the_embedding),
    ("M3", "saved model: a wrong classifier name -> traceback", probe_m3_classifier_name),
    ("M4", "saved model: a 0-d mean -> traceback", probe_m4_zero_d_mean),
    ("M5", "saved model: a non-numeric post-processing value -> traceback",
     probe_m5_text_postprocess),
    ("M6", "saved model: integer class names -> traceback", probe_m6_integer_classes),
    ("M7", "saved model: all-NaN coefficients -> exit 0 with '0 events'",
     probe_m7_nan_coefficients),
    ("M8", "saved model: a class named 'cat\\nevil' injects a row into detections.tsv",
     probe_m8_newline_class),
    ("S1", "disk-full error from make does not name the file", probe_s1_make_full_disk),
    ("S2", "disk-full error from run does not name the file", probe_s2_run_full_disk),
    ("S3", "kill -9 during detect leaves a folder that looks finished but for its summary",
     probe_s3_kill_detect),
    ("S4", "two sedbench run on the same --out both redo every run", probe_s4_two_runs),
]


def replay_one(rp: Replay, pid: str, issue: str, fn: Callable) -> Outcome:
    """Run one probe; a set-up failure is 'not replayed', an unknown option 'not
    expressible at this commit'."""
    t0 = time.monotonic()
    try:
        o = fn(rp, pid, issue)
    except NotReplayed as exc:
        o = Outcome(pid, issue, "", "", NOT_REPLAYED, str(exc))
    except NotExpressible as exc:
        o = Outcome(pid, issue, "", "", NOT_EXPRESSIBLE, str(exc))
    o.probe = " ".join(fn.__doc__.split())
    o.seconds = round(time.monotonic() - t0, 1)
    o.why, o.first_line = (x.replace(str(rp.work), "$W") for x in (o.why, o.first_line))
    return o


def stop_server(rp: Replay) -> None:
    """Ctrl-C the annotate server this replay started (by its process id), then kill it."""
    proc = rp.server_proc
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def check_root(root: Path, rp: Replay) -> str:
    """The imported ``sedal/__init__.py``; ReplayError unless it lies under ``root``."""
    if not (root / "sedal" / "benchmark" / "cli.py").is_file():
        raise ReplayError(f"--root {root} holds no sedal/benchmark/cli.py (lay out sedal/, "
                          "sedal/generator, sedal/sed and sedal/benchmark under it)")
    got = rp.imported_file()
    if not got or Path(got).resolve() != (root / "sedal" / "__init__.py").resolve():
        raise ReplayError(f"with PYTHONPATH={root}, 'import sedal' loads {got or 'nothing'}, "
                          "not the code under --root")
    return got


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options, checked; ReplayError (one line) for anything wrong."""
    class OneLine(argparse.ArgumentParser):
        def error(self, message: str):
            raise ReplayError(message)

    p = OneLine(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True, type=Path, help="import root holding sedal/")
    p.add_argument("--out", required=True, type=Path, help="JSON file to write")
    p.add_argument("--seed-cache", type=Path,
                   help="a sedal cache folder whose yamnet/ is copied in (nothing fetched)")
    p.add_argument("--label", default="", help="what the root is (e.g. a commit), recorded")
    p.add_argument("--only", help="comma-separated probe ids (default: all)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = p.parse_args(argv)
    if args.seed_cache is not None and not (args.seed_cache / "yamnet" / "meta.json").is_file():
        raise ReplayError(f"--seed-cache {args.seed_cache} holds no yamnet/meta.json")
    known = {pid for pid, _, _ in PROBES}
    args.only = None if args.only is None else [x.strip() for x in args.only.split(",")]
    if args.only and set(args.only) - known:
        raise ReplayError(f"--only: no probe {sorted(set(args.only) - known)[0]!r}")
    if not args.out.parent.is_dir():
        raise ReplayError(f"--out: the folder {args.out.parent} does not exist")
    return args


def replay(args: argparse.Namespace) -> dict:
    """Every selected probe against the code under ``args.root``; the JSON document."""
    root = args.root.resolve()
    work = Path(tempfile.mkdtemp(prefix="probe-replay-"))
    rp = Replay(root, work, args.seed_cache)
    started = datetime.now(UTC)
    try:
        imported = check_root(root, rp)
        results = []
        for pid, issue, fn in PROBES:
            if args.only and pid not in args.only:
                continue
            o = replay_one(rp, pid, issue, fn)
            print(f"{pid}: {o.verdict} ({o.why})", file=sys.stderr, flush=True)
            results.append(asdict(o))
    finally:
        stop_server(rp)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    counts: dict[str, int] = {}
    for o in results:
        counts[o["verdict"]] = counts.get(o["verdict"], 0) + 1
    return {"label": args.label, "root": str(root), "imported": imported,
            "python": sys.version.split()[0], "started": started.isoformat(timespec="seconds"),
            "seconds": round((datetime.now(UTC) - started).total_seconds()),
            "counts": counts, "probes": results}


def main(argv: list[str] | None = None) -> int:
    """Replay, write the JSON, print the counts; 2 with one ``error:`` line on bad input."""
    try:
        args = parse_args(argv)
        doc = replay(args)
    except ReplayError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.out}: " + ", ".join(f"{n} {v}" for v, n in doc["counts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
