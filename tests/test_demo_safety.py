"""`ikg demo` never deletes what it did not create (issue #13 "Data safety").

A folder is used only when it is new, empty or carries the demo's marker; a Neo4j database
is emptied only when it holds nothing but demo data. Anything else is refused, with the way
forward in the message, unless --reset is given and confirmed.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ikg.cli import main
from ikg.demo import DEMO_MARKER, DEMO_META_KEY, DemoRefused, prepare_database, prepare_folder
from kg.neo4j_store import Neo4jStore


def _never(question: str) -> bool:
    raise AssertionError(f"asked without --reset: {question}")


def test_the_demo_refuses_a_folder_that_holds_other_files_and_changes_nothing(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    result = CliRunner().invoke(main, ["--path", str(folder), "demo", "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert "holds files the demo did not create (thesis.txt)" in result.output
    assert "--reset" in result.output and "another folder" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.txt"]
    assert (folder / "thesis.txt").read_text() == "years of work"


def test_reset_asks_first_and_a_no_deletes_nothing(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(DemoRefused, match="not confirmed"):
        prepare_folder(tmp_path, reset=True, confirm=lambda question: False)
    assert (tmp_path / "keep.txt").exists()
    asked = []
    prepare_folder(tmp_path, reset=True, confirm=lambda question: asked.append(question) or True)
    assert "keep.txt" in asked[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [DEMO_MARKER]


def test_a_new_or_empty_folder_is_marked_and_a_marked_one_loses_only_demo_entries(tmp_path):
    new = tmp_path / "new"
    prepare_folder(new, confirm=_never)
    assert (new / DEMO_MARKER).exists()
    for name in ("inbox", "models", "graph", "state-v1"):
        (new / name).mkdir()
    (new / "ACTIVE").write_text("{}")
    (new / "notes.txt").write_text("mine")
    prepare_folder(new, confirm=_never)
    assert sorted(p.name for p in new.iterdir()) == [DEMO_MARKER, "notes.txt"]


def test_a_file_in_place_of_the_folder_is_refused(tmp_path):
    target = tmp_path / "data"
    target.write_text("not a folder")
    with pytest.raises(DemoRefused, match="is a file"):
        prepare_folder(target, confirm=_never)
    assert target.read_text() == "not a folder"


@pytest.mark.neo4j
def test_the_demo_never_empties_a_neo4j_database_holding_other_data(neo4j_store: Neo4jStore):
    with neo4j_store._session() as session:
        session.run("CREATE (:Person {name: 'not the project'})").consume()
    neo4j_store.upsert_nodes("User", [{"id": "alice"}])
    with pytest.raises(DemoRefused) as err:
        prepare_database(neo4j_store, confirm=_never)
    assert "NEO4J_DATABASE" in str(err.value) and "--reset" in str(err.value)
    assert neo4j_store.count_foreign_nodes() == 1
    assert neo4j_store.counts()["User"] == 1

    with pytest.raises(DemoRefused, match="not confirmed"):
        prepare_database(neo4j_store, reset=True, confirm=lambda question: False)
    assert neo4j_store.counts()["User"] == 1

    prepare_database(neo4j_store, reset=True, confirm=lambda question: True)
    assert neo4j_store.counts()["User"] == 0
    assert neo4j_store.count_foreign_nodes() == 1, "nodes with other labels are never deleted"
    assert neo4j_store.get_meta(DEMO_META_KEY) is not None
    with neo4j_store._session() as session:
        session.run("MATCH (n:Person) DETACH DELETE n").consume()


@pytest.mark.neo4j
def test_a_demo_database_is_reused_but_refused_once_real_users_arrive(neo4j_store: Neo4jStore):
    prepare_database(neo4j_store, confirm=_never)
    neo4j_store.upsert_nodes("User", [{"id": "demo-u001"}])
    prepare_database(neo4j_store, confirm=_never)
    assert neo4j_store.counts()["User"] == 0
    neo4j_store.upsert_nodes("User", [{"id": "demo-u001"}, {"id": "real-42"}])
    with pytest.raises(DemoRefused, match="1 users or items that are not the demo's"):
        prepare_database(neo4j_store, confirm=_never)
    assert neo4j_store.counts()["User"] == 2


def test_pruning_old_versions_touches_only_version_folders(tmp_path):
    from ikg.workdir import Workdir

    work = Workdir(tmp_path)
    for folder in ("models/my-model", "models/v20250101000000000000", "state-notes", "state-v1", "state-v2"):
        (tmp_path / folder).mkdir(parents=True)
    work.activate({"version": "v3", "previous": "v2"})
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_dir())
    assert left == ["inbox", "models", "models/my-model", "quarantine", "state-notes", "state-v2"]
