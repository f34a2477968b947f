"""Cypher files shipped with interest-kg: `schema.cypher` and the saved queries in `queries/`.

Each saved query is one `queries/<name>.cypher` file that starts with a header of comment lines:

    // name: user_top_interests
    // purpose: A user's strongest interest points (concepts) with their weights and topics.
    // params: $user_id (string) the user's id;
    //         $limit (int = 20) how many concepts to return
    // example: ikg cypher run user_top_interests --param user_id=demo-u001

`params` lists `$name (type)` or `$name (type = default)` entries separated by semicolons;
a parameter without a default is required. Types are `string`, `int`, `float` and `bool`; a
default of `null` means "not given" (the query then treats it as absent). Indented comment
lines continue the field above them. The rest of the file is the query itself (read-only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

PARAM_TYPES = ("string", "int", "float", "bool")
"""Parameter types a query header may declare."""

_HEADER_FIELDS = ("name", "purpose", "params", "example")
_FIELD_RE = re.compile(r"^//\s*(name|purpose|params|example)\s*:\s*(.*)$")
_PARAM_RE = re.compile(r"^\$(\w+)\s*\(\s*(\w+)\s*(?:=\s*(.*?))?\s*\)\s*(.*)$", re.S)
# Tokens that may hide a `$`: strings, quoted names and comments are skipped, parameters captured.
_TOKEN_RE = re.compile(
    r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\n]*|/\*.*?\*/|\$(\w+)|\$`([^`]+)`", re.S
)


def cypher_dir() -> Path:
    """The folder holding schema.cypher and queries/."""
    return Path(str(files(__name__)))


def schema_statements() -> list[str]:
    """The statements of schema.cypher, comments removed, in file order."""
    text = (cypher_dir() / "schema.cypher").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class QueryError(ValueError):
    """A saved query that does not exist or whose header cannot be read."""


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter: its name (without `$`), type, default and description."""

    name: str
    type: str = "string"
    default: Any = None
    required: bool = True
    description: str = ""

    def signature(self) -> str:
        if self.required:
            return f"${self.name} ({self.type})"
        shown = (
            "null"
            if self.default is None
            else str(self.default).lower()
            if self.type == "bool"
            else self.default
        )
        return f"${self.name} ({self.type} = {shown})"


@dataclass(frozen=True)
class SavedQuery:
    """A saved exploration query: header fields and the Cypher text (header removed)."""

    name: str
    purpose: str
    params: tuple[QueryParam, ...]
    example: str
    text: str
    path: Path | None = field(default=None, compare=False)

    @property
    def defaults(self) -> dict[str, Any]:
        """Parameters that have a default, with it."""
        return {p.name: p.default for p in self.params if not p.required}

    @property
    def required(self) -> list[str]:
        """Names of the parameters that must be given."""
        return [p.name for p in self.params if p.required]

    def param(self, name: str) -> QueryParam | None:
        return next((p for p in self.params if p.name == name), None)


def coerce_value(value: Any, type_: str, name: str = "value") -> Any:
    """`value` as `type_`; strings are parsed (`"3"` -> 3, `"true"` -> True, `"null"` -> None)."""
    if type_ not in PARAM_TYPES:
        raise QueryError(f"unknown parameter type {type_!r} for ${name}; use one of {', '.join(PARAM_TYPES)}")
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if type_ != "string" and text.lower() in ("null", "none", ""):
            return None
        try:
            if type_ == "int":
                return int(text)
            if type_ == "float":
                return float(text)
            if type_ == "bool":
                lowered = text.lower()
                if lowered in ("true", "yes", "1", "y", "on"):
                    return True
                if lowered in ("false", "no", "0", "n", "off"):
                    return False
                raise ValueError(value)
        except ValueError:
            raise ValueError(
                f"${name} must be {'an' if type_ == 'int' else 'a'} {type_}, got {value!r}"
            ) from None
        return value
    if type_ == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError(f"${name} must be an int, got {value!r}")
    if type_ == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"${name} must be a float, got {value!r}")
    if type_ == "bool" and not isinstance(value, bool):
        raise ValueError(f"${name} must be a bool, got {value!r}")
    if type_ == "float":
        return float(value)
    return value


def _parse_default(raw: str, type_: str, name: str) -> Any:
    raw = raw.strip()
    if raw.lower() == "null":
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        raw = raw[1:-1]
    return coerce_value(raw, type_, name)


def parse_params(spec: str, where: str = "query") -> tuple[QueryParam, ...]:
    """Parse a header's `params:` text (`$a (string) text; $b (int = 5) text`)."""
    spec = spec.strip()
    if not spec or spec.lower() in ("none", "-"):
        return ()
    out: list[QueryParam] = []
    for entry in (e.strip() for e in spec.split(";")):
        if not entry:
            continue
        match = _PARAM_RE.match(entry)
        if match is None:
            raise QueryError(
                f"{where}: cannot read parameter {entry!r}; write `$name (type)` or `$name (type = default)`"
            )
        name, type_, default, description = match.groups()
        if type_ not in PARAM_TYPES:
            raise QueryError(
                f"{where}: ${name} has unknown type {type_!r}; use one of {', '.join(PARAM_TYPES)}"
            )
        if default is None:
            out.append(QueryParam(name, type_, None, True, " ".join(description.split())))
        else:
            out.append(
                QueryParam(
                    name, type_, _parse_default(default, type_, name), False, " ".join(description.split())
                )
            )
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise QueryError(f"{where}: a parameter is declared twice: {names}")
    return tuple(out)


def parse_query(source: str, name: str | None = None, path: Path | None = None) -> SavedQuery:
    """Split a .cypher file's text into its header fields and its statement."""
    where = str(path) if path is not None else (name or "query")
    lines = source.splitlines()
    header: dict[str, str] = {}
    current: str | None = None
    body_start = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            current = None
            continue
        if not stripped.startswith("//"):
            body_start = i
            break
        match = _FIELD_RE.match(stripped)
        if match:
            current = match.group(1)
            header[current] = match.group(2).strip()
        elif current is not None and re.match(r"^//\s{2,}\S", stripped):
            header[current] = (header[current] + " " + stripped[2:].strip()).strip()
        else:
            current = None
    text = "\n".join(lines[body_start:]).strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    declared = header.get("name", name or (path.stem if path else ""))
    return SavedQuery(
        name=declared,
        purpose=" ".join(header.get("purpose", "").split()),
        params=parse_params(header.get("params", ""), where),
        example=header.get("example", ""),
        text=text,
        path=path,
    )


def referenced_params(text: str) -> list[str]:
    """Parameter names (`$name`) used in Cypher text, in first-use order; comments and strings ignored."""
    seen: list[str] = []
    for match in _TOKEN_RE.finditer(text):
        name = match.group(1) or match.group(2)
        if name and name not in seen:
            seen.append(name)
    return seen


def queries_dir() -> Path:
    """The folder of saved queries."""
    return cypher_dir() / "queries"


def list_queries() -> list[SavedQuery]:
    """Every saved query, sorted by name."""
    out = []
    for path in sorted(queries_dir().glob("*.cypher")):
        query = parse_query(path.read_text(encoding="utf-8"), path.stem, path)
        if query.name != path.stem:
            raise QueryError(f"{path}: header name {query.name!r} differs from the file name {path.stem!r}")
        out.append(query)
    return out


def query_names() -> list[str]:
    """Names of the saved queries, sorted."""
    return sorted(path.stem for path in queries_dir().glob("*.cypher"))


def load_query(name: str) -> SavedQuery:
    """The saved query called `name`; a QueryError listing the valid names when there is none."""
    names = query_names()
    if name not in names:
        raise QueryError(f"unknown saved query {name!r}; saved queries: {', '.join(names) or '(none)'}")
    path = queries_dir() / f"{name}.cypher"
    query = parse_query(path.read_text(encoding="utf-8"), name, path)
    if query.name != name:
        raise QueryError(f"{path}: header name {query.name!r} differs from the file name {name!r}")
    return query
