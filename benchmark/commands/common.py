"""What several ``sedbench`` commands share: argument groups (detector, features, strategy,
labels, collections, library grids) and how their values become objects."""

from __future__ import annotations

import argparse
from pathlib import Path

from sedal.benchmark.al.aggregation import STRATEGIES
from sedal.benchmark.errors import BenchmarkError
from sedal.generator.builtin import BUILTINS, DEFAULT_BUILTIN
from sedal.sed.errors import SedError
from sedal.sed.grid import HOP_S, SEGMENT_S


def class_list(text: str | None) -> list[str] | None:
    """``--classes a,b,c`` as a list of checked class names (``None`` when not given)."""
    if not text:
        return None
    from sedal.sed.annotations import check_class_name

    names = [c.strip() for c in text.split(",")]
    for c in names:
        check_class_name(c, f"--classes {text!r}")
    if len({c.casefold() for c in names}) < len(names):
        raise BenchmarkError(f"--classes {text!r}: a class is named twice")
    return names


def detector_args(p: argparse.ArgumentParser, default: str = "paper") -> None:
    from sedal.sed.detector import PRESETS

    p.add_argument("--detector", choices=sorted(PRESETS), default=default,
                   help="detector preset: paper (the study's) or field (the best measured on "
                        "real recordings; docs/results/detectors)")
    p.add_argument("--class-weight", choices=("none", "balanced"), default=None,
                   help="class weights of the classifier's loss (default: the preset's)")
    p.add_argument("--tol", type=float, default=None,
                   help="lbfgs tolerance every classifier fit runs to (default: the preset's, "
                        "1e-5)")
    p.add_argument("--max-iter", type=int, default=None,
                   help="safety stop on lbfgs iterations; fits that reach it are flagged "
                        "(default: the preset's, 10000)")


def detector_of(args):
    """The chosen preset with the settings given on the command line applied."""
    from sedal.sed.detector import PRESETS

    det = PRESETS[args.detector]
    changes = {k: v for k, v in (("tol", args.tol), ("max_iter", args.max_iter)) if v is not None}
    if args.class_weight is not None:
        changes["class_weight"] = None if args.class_weight == "none" else args.class_weight
    try:
        det = det.with_settings(**changes) if changes else det
    except SedError as exc:
        raise BenchmarkError(str(exc)) from None
    mode = getattr(args, "mode", "patch")
    if mode != "patch":
        if det.modes != ("patch",) or det.recipe():
            raise BenchmarkError(f"--mode {mode} only goes with --detector paper (the "
                                 f"{det.name} preset chooses its own features)")
        det = det.__class__.from_recipe(mode, det.settings, name=det.name)
    return det


def yamnet_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yamnet", type=Path, default=None,
                   help="YAMNet SavedModel dir or yamnet.h5 (else $SEDAL_YAMNET, cache, TF-Hub, "
                        "PyPI wheel)")


def feature_args(p: argparse.ArgumentParser) -> None:
    yamnet_arg(p)
    p.add_argument("--mode", choices=("patch", "context"), default="patch",
                   help="YAMNet on each segment's own frames (patch) or on a 0.96 s window "
                        "centred on it (context)")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32",
                   help="storage type of the embeddings")
    p.add_argument("--backbone", choices=("yamnet", "birdnet"), default="yamnet",
                   help="the embedding network: YAMNet (default) or BirdNET v2.4 (opt-in: "
                        "its model is CC BY-NC-SA 4.0, non-commercial; see sedbench "
                        "license)")
    p.add_argument("--window-hop", type=float, default=0.5,
                   help="BirdNET: seconds between its 3-s window centres (default 0.5)")
    p.add_argument("--segment", type=float, default=SEGMENT_S, help="segment length in s")
    p.add_argument("--hop", type=float, default=HOP_S, help="segment hop in s")


def strategy_args(p: argparse.ArgumentParser, *, extra: bool = False) -> None:
    """``--strategy`` (``extra``: also :data:`sedal.benchmark.al.strategies.EXTRA_STRATEGIES`,
    for AL runs), ``--k``, ``--diversify``, ``--factor``."""
    from sedal.benchmark.al.diversify import METHODS
    from sedal.benchmark.al.strategies import EXTRA_STRATEGIES

    p.add_argument("--strategy", choices=STRATEGIES + (EXTRA_STRATEGIES if extra else ()),
                   default="top_k",
                   help="how segment uncertainties become a file score (or a batch)")
    p.add_argument("--k", type=int, default=10, help="K of top_k (and the other *_top_k)")
    p.add_argument("--diversify", choices=METHODS, default="none",
                   help="diversify each batch")
    p.add_argument("--factor", type=int, default=3,
                   help="diversify among the top factor x batch candidates")


def labels_args(p: argparse.ArgumentParser, *, required: bool = False) -> None:
    if required:
        p.add_argument("--labels", type=Path, required=True, help="folder of label files")
    p.add_argument("--label-column", default="Annotation", help="Raven label column")
    p.add_argument("--classes", default=None,
                   help="comma-separated event classes (others are an error)")


def collection_args(p: argparse.ArgumentParser, *, accept_predictions: bool = True) -> None:
    if accept_predictions:
        p.add_argument("--accept-predictions", action="store_true",
                       help="train on label tables whose rows are all unreviewed predictions")
    p.add_argument("--cache", type=Path, default=None,
                   help="embedding cache folder (default $SEDAL_CACHE/embeddings)")
    yamnet_arg(p)


def library_grid_args(p: argparse.ArgumentParser, snrs: str) -> None:
    p.add_argument("--sources", type=Path, default=None,
                   help="a source library (default: a built-in one)")
    p.add_argument("--builtin", choices=sorted(BUILTINS), default=DEFAULT_BUILTIN,
                   help="the built-in library, without --sources")
    p.add_argument("--n-files", type=int, default=500, help="files per dataset")
    p.add_argument("--snrs", default=snrs, help="comma-separated SNRs in dB")
    p.add_argument("--ratios", default="0.2,1.0", help="comma-separated event ratios")


def grid_numbers(args) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(SNRs, ratios) of ``--snrs`` and ``--ratios``."""
    try:
        return (tuple(float(x) for x in args.snrs.split(",")),
                tuple(float(x) for x in args.ratios.split(",")))
    except ValueError:
        raise BenchmarkError("--snrs and --ratios take comma-separated numbers") from None


def feature_params(args):
    from sedal.sed.features import FeatureParams

    backbone = getattr(args, "backbone", "yamnet")
    mode = f"w{args.window_hop:g}" if backbone == "birdnet" else args.mode
    params = FeatureParams(segment=args.segment, hop=args.hop, mode=mode, dtype=args.dtype,
                           backbone=backbone)
    params.validate()
    return params
