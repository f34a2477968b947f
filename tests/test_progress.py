"""A refresh shows one progress display (a line per stage) and nothing else; progress=False shows
nothing at all: no library bars ("Loading weights", "Batches"), no torch warnings."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from ikg.progress import StageProgress

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("gather", "extract", "concepts", "interests", "write_graph", "text_vectors", "gnn", "tune_blend")
MARK = "=== progress on ==="

SCRIPT = textwrap.dedent(
    f"""
    import sys
    import gnn
    from ikg import InterestGraph
    from kg.synthetic import make_cross_domain

    data = make_cross_domain(n_users=16, items_per_domain=8, events_per_user=6, seed=4)
    config = gnn.GnnConfig(epochs=4, eval_every=2, patience=1)
    for folder, progress in ((sys.argv[1], False), (sys.argv[2], True)):
        if progress:
            print({MARK!r}, file=sys.stderr, flush=True)
        ig = InterestGraph.open(folder, gnn_config=config)
        ig.ingest_items(data.items)
        ig.ingest_events(data.events)
        ig.refresh(progress=progress)
        ig.close()
    """
)


@pytest.mark.models
@pytest.mark.slow
def test_a_refresh_shows_one_display_and_progress_false_shows_nothing(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "quiet"), str(tmp_path / "loud")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    quiet, _, loud = proc.stderr.partition(MARK)
    assert quiet.strip() == "", quiet[-2000:]
    assert proc.stdout.strip() == ""
    for noise in ("Loading weights", "Batches", "it/s", "Warning", "gnn:", "extract items"):
        assert noise not in loud, loud
    lines = [ln for ln in loud.splitlines() if ln.strip()]
    for stage in STAGES:
        assert sum(f"refresh: {stage} " in ln for ln in lines) == 1, loud
    extract = next(ln for ln in lines if "refresh: extract " in ln)
    done = re.search(r"(\d+)/\1\b", extract)
    assert done and int(done.group(1)) >= 24, extract


def test_stage_progress_draws_one_line_per_stage_with_counts():
    out = io.StringIO()
    progress = StageProgress(True, title="job", console=Console(file=out, width=100))
    with progress.stage("read"):
        pass
    with progress.stage("work"):
        progress.add_total(3)
        progress.advance(2)
        progress.add_total(2)
        progress.advance(3)
    progress.close()
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    assert len(lines) == 2
    assert "job: read" in lines[0] and "job: work" in lines[1] and "5/5" in lines[1]


def test_a_failing_stage_closes_the_display():
    out = io.StringIO()
    progress = StageProgress(True, console=Console(file=out, width=100))
    with pytest.raises(RuntimeError), progress.stage("boom"):
        raise RuntimeError("x")
    assert not progress.active
    progress.close()


def test_disabled_progress_prints_nothing():
    out = io.StringIO()
    progress = StageProgress(False, console=Console(file=out))
    with progress.stage("read"):
        progress.add_total(2)
        progress.advance(2)
    progress.close()
    assert out.getvalue() == ""
