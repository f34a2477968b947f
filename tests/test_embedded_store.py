"""The embedded store persists to a folder in atomic generations."""

from __future__ import annotations

from kg.embedded import EmbeddedStore
from tests.test_store_contract import canonical, seed_graph


def test_a_flushed_store_reopens_with_the_same_graph(tmp_path):
    store = EmbeddedStore(tmp_path)
    seed_graph(store)
    store.set_meta("model_version", "v1")
    store.flush()
    reopened = EmbeddedStore(tmp_path)
    assert canonical(reopened.snapshot()) == canonical(store.snapshot())
    assert reopened.get_meta("model_version") == "v1"


def test_unflushed_writes_are_invisible_to_a_new_reader(tmp_path):
    store = EmbeddedStore(tmp_path)
    seed_graph(store)
    store.flush()
    store.upsert_nodes("User", [{"id": "u3"}])
    assert EmbeddedStore(tmp_path).get_nodes("User", ["u3"]) == {}
    store.flush()
    assert EmbeddedStore(tmp_path).get_nodes("User", ["u3"]) == {"u3": {}}


def test_a_crash_while_writing_leaves_the_previous_generation_serving(tmp_path):
    store = EmbeddedStore(tmp_path)
    seed_graph(store)
    store.flush()
    (tmp_path / ".staging-000002-999").mkdir()
    (tmp_path / ".staging-000002-999" / "node-User.parquet").write_bytes(b"half a file")
    assert EmbeddedStore(tmp_path).counts()["User"] == 2
    assert len(list(tmp_path.glob("graph-*"))) == 1
