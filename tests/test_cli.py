"""The `ikg` command line as a new user meets it: one-line errors with the fix, the ingest syntax its
help shows, `--json` after the command, readable tables, a fast `--help`, `ikg eval` on ISO times.

Commands run through click's CliRunner on real folders (a small synthetic world built once with
the real models); `--help` and `--debug` run as real subprocesses.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import gnn
import ikg.cli as cli
from ikg import InterestGraph
from ikg.inputs import NotRefreshedError
from kg.synthetic import make_cross_domain

ROOT = Path(__file__).resolve().parents[1]
FAST_GNN = gnn.GnnConfig(epochs=6, eval_every=3, patience=1)


def run(*args: str, ok: bool = True):
    """`ikg ARGS` in-process; checks the exit status (0 when ok, else 1)."""
    result = CliRunner().invoke(cli.main, list(args))
    assert result.exit_code == (0 if ok else 1), (args, result.output, result.exception)
    return result


def error_of(result) -> str:
    """The one line the CLI printed for a failure (and that there is nothing else)."""
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Tables as on a wide terminal, so cells are not wrapped across lines in the captured text."""
    monkeypatch.setattr(cli.console, "width", 400)


def world_files(folder: Path) -> tuple[Path, Path]:
    data = make_cross_domain(n_users=24, items_per_domain=16, events_per_user=10, seed=7)
    items = data.items.copy()
    items["categories"] = items["categories"].map(lambda c: "|".join(c))
    events = data.events.copy()
    events["ts"] = pd.to_datetime(events["ts"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    folder.mkdir(parents=True, exist_ok=True)
    items.to_csv(folder / "items.csv", index=False)
    events.to_csv(folder / "events.csv", index=False)
    return folder / "items.csv", folder / "events.csv"


@pytest.fixture(scope="module")
def graph_path(tmp_path_factory):
    """A refreshed graph folder, its data ingested through `ikg ingest ITEMS EVENTS` (the README syntax)."""
    root = tmp_path_factory.mktemp("cli")
    items, events = world_files(root / "data")
    result = CliRunner().invoke(
        cli.main, ["--path", str(root / "g"), "--json", "ingest", str(events), str(items)]
    )
    assert result.exit_code == 0, result.output
    reports = json.loads(result.output)
    assert [Path(r["source"]).name for r in reports] == ["items.csv", "events.csv"]
    assert all(r["accepted"] > 0 and r["quarantined"] == 0 for r in reports)
    with InterestGraph.open(root / "g", gnn_config=FAST_GNN) as ig:
        ig.refresh(progress=False)
    return str(root / "g")


def test_recommend_before_any_refresh_is_one_error_line_with_the_fix(tmp_path):
    line = error_of(run("--path", str(tmp_path), "recommend", "u1", ok=False))
    assert "nothing to serve yet" in line and "ikg refresh" in line


def test_debug_shows_the_traceback_instead(tmp_path):
    result = CliRunner().invoke(cli.main, ["--path", str(tmp_path), "recommend", "u1", "--debug"])
    assert result.exit_code == 1 and isinstance(result.exception, NotRefreshedError)
    proc = subprocess.run(
        [sys.executable, "-m", "ikg.cli", "--path", str(tmp_path), "--debug", "recommend", "u1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "NotRefreshedError" in proc.stderr


def test_an_ingest_error_is_one_error_line(tmp_path):
    bad = tmp_path / "items.csv"
    bad.write_text("name,price\nx,1\n")
    line = error_of(run("--path", str(tmp_path / "g"), "ingest", "--items", str(bad), ok=False))
    assert "item_id" in line and "Fix" in line


def test_a_file_that_is_neither_items_nor_events_says_how_to_pass_it(tmp_path):
    odd = tmp_path / "odd.csv"
    odd.write_text("name,price\nx,1\n")
    result = CliRunner().invoke(cli.main, ["--path", str(tmp_path / "g"), "ingest", str(odd)])
    assert (
        result.exit_code == 2 and "--items or --events" in result.output and "Traceback" not in result.output
    )


def test_the_ingest_syntax_of_the_help_is_the_real_syntax(tmp_path):
    help_text = run("--help").output + run("ingest", "--help").output
    assert "ikg ingest items.csv events.jsonl" in help_text
    assert "ikg ingest --items items.csv --events events.jsonl" in help_text
    items, events = world_files(tmp_path / "data")
    jsonl = tmp_path / "data" / "events.jsonl"
    pd.read_csv(events).to_json(jsonl, orient="records", lines=True)
    for n, args in enumerate(([str(items), str(jsonl)], ["--items", str(items), "--events", str(jsonl)])):
        reports = json.loads(run("--path", str(tmp_path / f"g{n}"), "--json", "ingest", *args).output)
        assert [Path(r["source"]).suffix for r in reports] == [".csv", ".jsonl"]
        assert all(r["accepted"] > 0 for r in reports)


def test_unknown_domain_bad_k_bad_diversity_and_unknown_user_are_one_error_line(graph_path):
    line = error_of(run("--path", graph_path, "recommend", "u0002", "--domain", "nope", ok=False))
    assert "unknown domain 'nope'" in line and "films" in line
    for k in ("-1", "0"):
        assert "k must be >= 1" in error_of(
            run("--path", graph_path, "recommend", "u0002", "-k", k, ok=False)
        )
    line = error_of(run("--path", graph_path, "recommend", "u0002", "--diversity", "5", ok=False))
    assert "diversity must be in [0, 1]" in line
    line = error_of(run("--path", graph_path, "explain", "nobody", "bo0001", ok=False))
    assert "user 'nobody' has no history" in line
    line = error_of(run("--path", graph_path, "explain", "u0002", "no-such-item", ok=False))
    assert "no-such-item" in line and "ingest it" in line


def test_json_works_after_the_command_as_well_as_before(graph_path):
    after = json.loads(run("--path", graph_path, "recommend", "u0002", "-k", "3", "--json").output)
    before = json.loads(run("--path", graph_path, "--json", "recommend", "u0002", "-k", "3").output)
    assert after == before and len(after) == 3
    prof = json.loads(run("--path", graph_path, "profile", "u0002", "--json").output)
    assert prof["user_id"] == "u0002"


def test_an_unknown_user_is_marked_cold_start_in_the_table_and_the_json(graph_path):
    table = run("--path", graph_path, "recommend", "nobody", "-k", "3").output
    assert "cold start: no history for this user" in table
    recs = json.loads(run("--path", graph_path, "recommend", "nobody", "-k", "3", "--json").output)
    assert all(r["cold_start"] for r in recs)


def test_explain_table_shows_each_paths_cypher_and_plain_scores(graph_path):
    item = json.loads(run("--path", graph_path, "recommend", "u0002", "-k", "1", "--json").output)[0][
        "item_id"
    ]
    paths = json.loads(run("--path", graph_path, "explain", "u0002", item, "--json").output)
    assert paths
    table = run("--path", graph_path, "explain", "u0002", item).output
    assert table.count("MATCH p = (u:User {id: $user_id})") == len(paths)
    assert "params:" in table
    assert not re.search(r"\d[eE]-\d", table), table


def test_profile_table_has_readable_titles_and_dated_drift_windows(graph_path):
    prof = json.loads(run("--path", graph_path, "profile", "u0002", "--json").output)
    assert prof["drift"] and len(prof["drift_windows"]) == 3
    table = run("--path", graph_path, "profile", "u0002").output
    assert "{" not in table.splitlines()[0] and "interests of u0002 (" in table
    assert re.search(r"\d+ items? in (books|films|music)", table)
    dates = re.findall(r"\d{4}-\d{2}-\d{2}(?: \d\d:\d\d)? to (?:\d{4}-\d{2}-\d{2}|\d\d:\d\d)", table)
    assert len(dates) == 3, table
    assert not re.search(r"\d[eE]-\d", table)


def test_plain_numbers_never_use_exponent_notation():
    from ikg.cli_support import plain_number

    assert plain_number(1.234e-05) == "0.00001234"
    assert plain_number(0.5) == "0.5"
    assert plain_number(0) == "0"
    assert plain_number(12.3456) == "12.35"
    assert plain_number(1.0) == "1.00"
    assert plain_number(-0.000123456) == "-0.0001235"


def test_help_does_not_import_torch():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "ikg.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage:" in proc.stdout
    heavy = [
        ln for ln in proc.stderr.splitlines() if re.search(r"\b(torch|sentence_transformers|spacy)\b", ln)
    ]
    assert heavy == [], heavy[:5]


def test_eval_cold_start_parses_iso_timestamps_as_ingest_does(tmp_path):
    _, events = world_files(tmp_path / "ds")
    assert pd.read_csv(events)["ts"].str.endswith("Z").all()
    result = run(
        "eval",
        "--data",
        str(tmp_path / "ds"),
        "--protocol",
        "cold-start",
        "--source-domain",
        "books",
        "--target-domain",
        "films",
        "--methods",
        "popularity",
        "--no-system",
        "--n-valid",
        "5",
        "--n-test",
        "5",
        "--k",
        "5",
        "--quiet",
    )
    assert "popularity" in result.output


def test_eval_names_unparseable_timestamps(tmp_path):
    from ikg.eval.datasets import load_dataset

    _, events = world_files(tmp_path / "ds")
    frame = pd.read_csv(events)
    frame.loc[2, "ts"] = "last tuesday"
    frame.to_csv(events, index=False)
    with pytest.raises(ValueError, match=r"rows \[3\].*last tuesday.*ISO-8601"):
        load_dataset(tmp_path / "ds")
    assert np.isfinite(pd.to_datetime(frame.loc[0, "ts"]).timestamp())
