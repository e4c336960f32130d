"""The rendering workers: batches of files rendered (or re-rendered from a manifest) in
worker processes, the same bytes whatever the number of workers."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from sedal.core.fsutil import (
    resolve_inside,
    sha256_bytes,
)
from sedal.core.procutil import die_with_parent
from sedal.generator.layout import audio_rel, jams_rel

from .manifest import (
    FORMAT_VERSION,
)
from .plan import FilePlan
from .spec import DatasetSpec


def _write_plan_outputs(out: str, plan: FilePlan, wav: bytes, jam: bytes) -> dict:
    """Write one soundscape below ``out`` (confined) and return its journal record."""
    from .render import write_outputs

    write_outputs(wav, jam, resolve_inside(out, audio_rel(plan)),
                  resolve_inside(out, jams_rel(plan)))
    return {"id": plan.id, "audio_sha256": sha256_bytes(wav), "jams_sha256": sha256_bytes(jam)}


# -- workers -----------------------------------------------------------------
def _render_batch(batch: list[dict], spec_d: dict, fg: str, bg: str, out: str,
                  fmt: int = FORMAT_VERSION) -> list[dict]:
    """Render and write a batch of plans (runs in a worker process)."""
    from .render import ensure_bed, jams_bytes, pcm16_wav_bytes, render_plan

    spec = DatasetSpec.from_dict(spec_d)
    done = []
    for d in batch:
        plan = FilePlan.from_dict(d)
        ensure_bed(plan, bg, spec.sr)
        audio, jam = render_plan(plan, spec, fg, bg, exact=fmt >= 2)
        done.append(_write_plan_outputs(out, plan, pcm16_wav_bytes(audio, spec.sr),
                                        jams_bytes(jam, fg, bg, round_floats=fmt >= 2)))
    return done


def _rerender_batch(items: list[tuple[dict, str | None]], spec_d: dict, fg: str, bg: str,
                    out: str, fmt: int = FORMAT_VERSION) -> list[dict]:
    """Re-render from JAMS files where given, else from the plan (worker)."""
    from .render import (
        check_jams_sources,
        ensure_bed,
        jams_bytes,
        pcm16_wav_bytes,
        render_plan,
        rerender_jams,
    )

    spec = DatasetSpec.from_dict(spec_d)
    done = []
    for d, jams_path in items:
        plan = FilePlan.from_dict(d)
        ensure_bed(plan, bg, spec.sr)
        if jams_path is not None:
            check_jams_sources(jams_path, plan)
            audio, _ = rerender_jams(jams_path, fg, bg, exact=fmt >= 2)
            jam = Path(jams_path).read_bytes()
        else:
            audio, jam_obj = render_plan(plan, spec, fg, bg, exact=fmt >= 2)
            jam = jams_bytes(jam_obj, fg, bg, round_floats=fmt >= 2)
        done.append(_write_plan_outputs(out, plan, pcm16_wav_bytes(audio, spec.sr), jam))
    return done


def _run_batches(fn, items: list, args: tuple, jobs: int, progress: bool, desc: str,
                 on_done=None) -> None:
    """Run ``fn(batch, *args)`` over batches of ``items``, in ``jobs`` processes.

    ``on_done(records)`` is called in this process with each finished batch's records.
    """
    from sedal.core.progress import progress_bar

    if not items:
        return
    on_done = on_done or (lambda records: None)
    bar = progress_bar(len(items), desc=desc, unit="file", enabled=progress)
    try:
        if jobs <= 1:
            step = 8
            for i in range(0, len(items), step):
                records = fn(items[i:i + step], *args)
                on_done(records)
                bar.update(len(records))
            return
        size = max(1, min(32, len(items) // (jobs * 4) or 1))
        batches = [items[i:i + size] for i in range(0, len(items), size)]
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"),
                                 initializer=die_with_parent) as pool:
            futures = [pool.submit(fn, b, *args) for b in batches]
            try:
                for fut in as_completed(futures):
                    records = fut.result()
                    on_done(records)
                    bar.update(len(records))
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    finally:
        bar.close()
