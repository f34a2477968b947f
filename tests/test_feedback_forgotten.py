"""Feedback of a forgotten user is refused like their events at ingest: through the Python API, the
`ikg feedback` command and `POST /feedback`, with an error that names the override, and nothing
stored (no inbox batch, no dislike). One small synthetic world built with the real models, no GNN.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from ikg import ForgottenUserError, InterestGraph
from ikg.cli import main
from ikg.server.app import create_app
from ikg.server.security import Tokens
from kg.synthetic import make_cross_domain

pytestmark = [pytest.mark.models, pytest.mark.slow]

VICTIM = "u0003"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A refreshed folder in which VICTIM has been forgotten; yields the folder and an item id."""
    data = make_cross_domain(n_users=12, items_per_domain=8, events_per_user=10, seed=11)
    folder = tmp_path_factory.mktemp("forgotten-feedback")
    ig = InterestGraph.open(folder, use_gnn=False)
    ig.ingest_items(data.items)
    ig.ingest_events(data.events)
    ig.refresh(progress=False)
    ig.forget_user(VICTIM)
    ig.close()
    return folder, sorted(data.items["item_id"])[0]


def _stored(folder) -> tuple[list[str], dict]:
    """The inbox batches and the dislikes as they are on disk."""
    batches = sorted(p.name for p in (folder / "inbox").glob("*.parquet"))
    dislikes = folder / "dislikes.json"
    return batches, json.loads(dislikes.read_text()) if dislikes.exists() else {}


def test_feedback_of_a_forgotten_user_is_refused_and_nothing_is_stored(world):
    folder, item = world
    before = _stored(folder)
    with InterestGraph.open(folder, use_gnn=False) as ig:
        for form in (VICTIM, f" {VICTIM} "):
            for kind in ("like", "dislike"):
                with pytest.raises(ForgottenUserError, match=r"allow_forgotten=True.*--allow-forgotten"):
                    ig.feedback(form, item, kind)
        assert _stored(folder) == before
        assert ig.feedback("u0004", item, "like")["staged"], "other users' feedback is still taken"


def test_feedback_of_a_forgotten_user_is_taken_when_the_caller_allows_it(tmp_path, world):
    folder, item = world
    with InterestGraph.open(folder, use_gnn=False) as ig:
        batches, _ = _stored(folder)
        got = ig.feedback(VICTIM, item, "dislike", allow_forgotten=True)
        assert got["staged"] and got["filtered_now"]
        after, dislikes = _stored(folder)
        assert len(after) == len(batches) + 1 and dislikes[VICTIM] == [item]
        ig.feedback(VICTIM, item, "like", allow_forgotten=True)  # undo: the world stays as it was


def test_ikg_feedback_refuses_a_forgotten_user_unless_allow_forgotten_is_given(world):
    folder, item = world
    runner = CliRunner()
    before = _stored(folder)
    refused = runner.invoke(main, ["--path", str(folder), "feedback", VICTIM, item, "like"])
    assert refused.exit_code == 1
    assert refused.output.startswith("Error: feedback refused") and "--allow-forgotten" in refused.output
    assert "Traceback" not in refused.output
    assert _stored(folder) == before

    allowed = runner.invoke(
        main, ["--path", str(folder), "--json", "feedback", VICTIM, item, "like", "--allow-forgotten"]
    )
    assert allowed.exit_code == 0, allowed.output
    assert json.loads(allowed.output)["staged"] is True


def test_post_feedback_refuses_a_forgotten_user_with_a_clear_error(world):
    folder, item = world
    app = create_app(lambda: InterestGraph.open(folder, use_gnn=False), folder, Tokens(None, None))
    before = _stored(folder)
    with TestClient(app) as http:
        got = http.post("/feedback", json={"user_id": VICTIM, "item_id": item, "kind": "dislike"})
        assert got.status_code == 400, got.text
        assert "forget_user" in got.json()["error"] and "allow_forgotten" in got.json()["error"]
        assert _stored(folder) == before
        other = http.post("/feedback", json={"user_id": "u0005", "item_id": item, "kind": "view"})
        assert other.status_code == 200, other.text
