"""`ikg eval --help` lists the baselines of the code's registry, not a hand-written list."""

from __future__ import annotations

from click.testing import CliRunner

from ikg.cli import main
from ikg.eval.baselines import BASELINES


def test_eval_help_lists_every_registered_baseline():
    result = CliRunner().invoke(main, ["eval", "--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("baselines (--methods):", 1)[1]
    for name in BASELINES:
        assert name in listed, name
