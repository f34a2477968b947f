"""neo4j-admin CSV files from a version's rows: headers, typed cells, empty lists, and refusals (no server)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

from ikg.neo4j_import import ARRAY_DELIMITER, EMPTY_LISTS, ImportRefusedError, run_import, write_import_files
from ikg.workdir import State
from kg.schema import EDGE_TYPES, NODE_TYPES


def small_state() -> State:
    tables = {f"rows_{name}": pd.DataFrame() for name in (*NODE_TYPES, *EDGE_TYPES)}
    tables["rows_Item"] = pd.DataFrame(
        {
            "id": ["b1", "b2"],
            "domain": ["books", "books"],
            "title": ['Dune, "the" novel', "Line one\nline two"],
            "categories": [["sf", "a;b"], []],
            "popularity": [2.5, np.nan],
        }
    )
    tables["rows_User"] = pd.DataFrame({"id": ["u1"]})
    tables["rows_INTERACTED"] = pd.DataFrame(
        {"src": ["u1"], "dst": ["b1"], "kind": ["view"], "weight": [1.5], "count": [3]}
    )
    tables["items"] = pd.DataFrame({"item_id": ["b1", "b2"]})
    arrays = {"item_text": np.array([[0.25, -1.0], [0.5, 0.125]], dtype=np.float32)}
    return State("v1", tables, arrays, {}, {})


def read(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_files_carry_neo4j_admin_headers_typed_cells_and_the_empty_lists(tmp_path):
    files = write_import_files(small_state(), tmp_path)
    items = read(files.nodes["Item"])
    assert items[0] == [
        "id:ID(Item)",
        "domain",
        "title",
        "categories:string[]",
        "popularity:double",
        "text_embedding:double[]",
    ]
    assert items[1] == ["b1", "books", 'Dune, "the" novel', f"sf{ARRAY_DELIMITER}a;b", "2.5", "0.25\x1f-1.0"]
    assert items[2][2] == "Line one\nline two" and items[2][3] == "" and items[2][4] == ""
    assert files.multiline and "--multiline-fields=true" in files.arguments()
    assert read(files.relationships["INTERACTED"]) == [
        [":START_ID(User)", ":END_ID(Item)", "kind", "weight:double", "count:long"],
        ["u1", "b1", "view", "1.5", "3"],
    ]
    assert read(files.nodes["IkgMeta"])[1] == ["active_version", "v1"]
    assert json.loads((tmp_path / EMPTY_LISTS).read_text())["nodes"] == {"Item": {"categories": ["b2"]}}
    script = (tmp_path / "import.sh").read_text()
    assert "neo4j-admin database import full --nodes=User=nodes_User.csv" in script
    assert script.rstrip().endswith(" neo4j")


def test_a_version_without_rows_and_an_occupied_home_are_refused(tmp_path):
    with pytest.raises(ImportRefusedError, match="no graph rows"):
        write_import_files(State("v0", {}, {}, {}, {}), tmp_path / "none")
    files = write_import_files(small_state(), tmp_path / "csv")
    home = tmp_path / "home"
    (home / "data" / "databases" / "neo4j").mkdir(parents=True)
    (home / "data" / "databases" / "neo4j" / "neostore").write_text("someone's data")
    with pytest.raises(ImportRefusedError, match="already holds a 'neo4j' database"):
        run_import(files, home)
    assert (home / "data" / "databases" / "neo4j" / "neostore").read_text() == "someone's data"
