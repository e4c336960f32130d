"""One CLI grammar, written down in docs/cli.md and checked against the parsers."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from sedal.benchmark.cli import build_parser as sedbench_parser
from sedal.benchmark.cli import main as sedbench
from sedal.core.cli import _subcommands
from sedal.generator.cli import build_parser as sedgen_parser
from sedal.generator.cli import main as sedgen
from tests.helpers import load_script

REPO = Path(__file__).resolve().parents[1]
PARSERS = {"sedgen": sedgen_parser, "sedbench": sedbench_parser}


def _leaves():
    for tool, build in PARSERS.items():
        yield from _subcommands(build(), tool)


def test_cli_page_table_matches_the_parsers():
    mod = load_script("cli_grammar")
    assert mod.block() in (REPO / "docs" / "cli.md").read_text(), \
        "docs/cli.md's CLI table is out of date: run python scripts/cli_grammar.py"


@pytest.mark.parametrize("cmd, parser", list(_leaves()), ids=lambda x: x if isinstance(x, str)
                         else "")
def test_every_option_has_help_and_enumerations_have_choices(cmd, parser):
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        assert a.help, f"{cmd} {a.option_strings or a.dest}: no help text"
        names = " ".join(a.option_strings)
        if set(a.option_strings) & {"--strategy", "--diversify", "--mode", "--dtype",
                                    "--builtin", "--grid"}:
            assert a.choices, f"{cmd} {names}: an enumerated option without choices"
    outs = [a for a in parser._actions if "--dest" in a.option_strings
            or "--out-root" in a.option_strings or "--data-root" in a.option_strings]
    assert not outs, f"{cmd}: outputs are --out"


@pytest.mark.parametrize("argv", [["-q", "verify", "x"], ["verify", "x", "--quiet"],
                                  ["verify", "x", "--no-progress"]])
def test_quiet_before_or_after_the_subcommand(argv):
    args = sedgen_parser().parse_args(argv)
    assert args.quiet is True and args.verbose is False


def test_run_needs_exactly_one_target(capsys):
    assert sedbench(["run"]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert sedbench(["run", "somewhere", "--all"]) == 2
    assert "got a dataset and --all" in capsys.readouterr().err


def test_flags_win_over_the_config(tmp_path, monkeypatch):
    """defaults < TOML config < flags, in sedbench as in sedgen."""
    from sedal.benchmark.al import plan

    cfg = tmp_path / "grid.toml"
    cfg.write_text('seeds = "0-4"\nschedule = [0.01, 0.02]\n[[experiment]]\n'
                   'dataset = "ds"\nstrategies = ["random"]\n')
    seen = {}

    def fake_resolve(exps, seeds, *, schedule, **kw):
        seen.update(seeds=list(seeds), schedule=tuple(schedule))
        raise SystemExit(0)

    monkeypatch.setattr(plan, "resolve", fake_resolve)
    with pytest.raises(SystemExit):
        sedbench(["run", "--config", str(cfg), "--seeds", "7", "--schedule", "0.05,0.1"])
    assert seen == {"seeds": [7], "schedule": (0.05, 0.1)}
    with pytest.raises(SystemExit):
        sedbench(["run", "--config", str(cfg)])
    assert seen == {"seeds": [0, 1, 2, 3, 4], "schedule": (0.01, 0.02)}


def test_unknown_config_keys_are_errors(tmp_path, capsys):
    cfg = tmp_path / "grid.toml"
    cfg.write_text('seedz = "0-4"\n')
    assert sedbench(["run", "--config", str(cfg)]) == 2
    assert "seedz" in capsys.readouterr().err
    spec = tmp_path / "spec.toml"
    spec.write_text("[dataset]\nsnrr = 3\n")
    assert sedgen(["make", "--config", str(spec), "--out", str(tmp_path / "d")]) == 2
    assert "snrr" in capsys.readouterr().err


def test_verbose_gives_the_traceback(tmp_path):
    with pytest.raises(Exception, match="no manifest"):
        sedgen(["--verbose", "verify", str(tmp_path)])


@pytest.mark.parametrize("cmd, parser", list(_leaves()), ids=lambda x: x if isinstance(x, str)
                         else "")
def test_no_parser_accepts_an_abbreviated_option(cmd, parser):
    assert parser.allow_abbrev is False, cmd


def test_an_option_prefix_is_an_error_not_a_guess(capsys):
    # --dataset is a prefix of --dataset-seeds only; argparse would have taken it for that
    assert sedbench(["run", "--all", "--dataset", "1", "--max-fraction", "0.01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--dataset" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("tool", ["sedgen", "sedbench"])
def test_version_prints_the_installed_version_and_exits_0(tool, capsys):
    from sedal import __version__
    from sedal.benchmark.cli import main as bench
    from sedal.generator.cli import main as gen

    assert (gen if tool == "sedgen" else bench)(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"{tool} {__version__}"
