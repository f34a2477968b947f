"""Cypher files shipped with interest-kg: `schema.cypher` and the saved queries in `queries/`."""

from importlib.resources import files
from pathlib import Path


def cypher_dir() -> Path:
    """The folder holding schema.cypher and queries/."""
    return Path(str(files(__name__)))


def schema_statements() -> list[str]:
    """The statements of schema.cypher, comments removed, in file order."""
    text = (cypher_dir() / "schema.cypher").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]
