"""Dataset adapters: generic CSV/JSONL, Amazon reviews + metadata, MovieLens, LLMCDSR Food-Kitchen.

All of them return a `Dataset` in the ingest columns (items: item_id, domain, title,
[description, categories, tags]; events: user_id, item_id, [kind, ts, rating]).
"""

from __future__ import annotations

import ast
import gzip
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from ikg.eval.base import Dataset

_ALLOWED_PICKLE = {("builtins", n) for n in ("dict", "list", "set", "tuple", "str", "int", "float")}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain containers of str/int/float only; any other class is refused."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_PICKLE:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")


def safe_pickle_load(path: str | Path) -> Any:
    with open(path, "rb") as f:
        return RestrictedUnpickler(f).load()


def _read_table(folder: Path, stem: str) -> pd.DataFrame | None:
    for suffix, reader in (
        (".csv", pd.read_csv),
        (".csv.gz", pd.read_csv),
        (".jsonl", lambda p: pd.read_json(p, lines=True)),
        (".parquet", pd.read_parquet),
    ):
        path = folder / f"{stem}{suffix}"
        if path.exists():
            return reader(path, dtype={"user_id": str, "item_id": str}) if "csv" in suffix else reader(path)  # type: ignore[call-arg]
    return None


def load_dataset(folder: str | Path, name: str | None = None) -> Dataset:
    """Generic folder: items.{csv,jsonl,parquet} and events.{...}, optional split.{...}.

    items need item_id, domain, title; events need user_id, item_id (kind, ts, rating
    optional); split (user_id, split = valid|test, item_id) enables the "given" protocol.
    A categories column written as "a|b" text is split into lists.
    """
    folder = Path(folder)
    items, events = _read_table(folder, "items"), _read_table(folder, "events")
    if items is None or events is None:
        raise FileNotFoundError(f"{folder} needs items.csv|jsonl|parquet and events.csv|jsonl|parquet")
    if "categories" in items.columns:
        items["categories"] = items["categories"].map(
            lambda v: [c for c in v.split("|") if c] if isinstance(v, str) else v
        )
    return Dataset(name or folder.name, items, events, _read_table(folder, "split"))


def _json_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """JSON lines, a JSON array, or the older Amazon dumps with Python-literal lines; .gz ok."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        head = f.read(1)
        f.seek(0)
        if head == "[":
            yield from json.load(f)
            return
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield ast.literal_eval(line)


def _flat_categories(value: Any) -> list[str]:
    if isinstance(value, list):
        flat = [c for v in value for c in (v if isinstance(v, list) else [v])]
        return list(dict.fromkeys(str(c) for c in flat if c))
    return [str(value)] if value else []


def load_amazon(
    domains: dict[str, tuple[str | Path, str | Path]], min_rating: float = 0.0, name: str = "amazon"
) -> Dataset:
    """Amazon review dumps: {domain: (reviews file, metadata file)}.

    Reviews: reviewerID, asin, overall, unixReviewTime (2014/2018 formats). Metadata: asin,
    title, categories or category, main_cat, description. Reviews below `min_rating` are
    skipped; items without a title fall back to their asin.
    """
    items, events = [], []
    for domain, (reviews, meta) in domains.items():
        for r in _json_records(reviews):
            if float(r.get("overall", 0) or 0) >= min_rating:
                events.append(
                    {
                        "user_id": r["reviewerID"],
                        "item_id": r["asin"],
                        "kind": "review",
                        "ts": float(r.get("unixReviewTime") or 0),
                        "rating": r.get("overall"),
                    }
                )
        for m in _json_records(meta):
            cats = _flat_categories(m.get("categories") or m.get("category"))
            if m.get("main_cat"):
                cats = [str(m["main_cat"]), *[c for c in cats if c != m["main_cat"]]]
            desc = m.get("description") or ""
            items.append(
                {
                    "item_id": m["asin"],
                    "domain": domain,
                    "title": m.get("title") or m["asin"],
                    "description": " ".join(desc) if isinstance(desc, list) else str(desc),
                    "categories": cats,
                }
            )
    items_df = pd.DataFrame(items).drop_duplicates("item_id")
    events_df = pd.DataFrame(events)
    events_df = events_df[events_df["item_id"].isin(set(items_df["item_id"]))]
    return Dataset(name, items_df.reset_index(drop=True), events_df.reset_index(drop=True))


def load_movielens(folder: str | Path, min_rating: float = 0.0, domain: str = "movies") -> Dataset:
    """MovieLens ratings.csv (userId, movieId, rating, timestamp), movies.csv (title, genres),
    optional tags.csv (its tags become an item `tags` list). One domain."""
    folder = Path(folder)
    ratings = pd.read_csv(folder / "ratings.csv")
    movies = pd.read_csv(folder / "movies.csv")
    ratings = ratings[ratings["rating"] >= min_rating]
    items = pd.DataFrame(
        {
            "item_id": movies["movieId"].astype(str),
            "domain": domain,
            "title": movies["title"],
            "categories": movies["genres"].map(lambda g: [] if g == "(no genres listed)" else g.split("|")),
        }
    )
    if (folder / "tags.csv").exists():
        tags = pd.read_csv(folder / "tags.csv")
        per_item = tags.groupby(tags["movieId"].astype(str))["tag"].agg(
            lambda t: list(dict.fromkeys(str(x).lower() for x in t))
        )
        items["tags"] = items["item_id"].map(per_item).map(lambda t: t if isinstance(t, list) else [])
    events = pd.DataFrame(
        {
            "user_id": ratings["userId"].astype(str),
            "item_id": ratings["movieId"].astype(str),
            "kind": "rating",
            "ts": ratings["timestamp"].astype(float),
            "rating": ratings["rating"].astype(float),
        }
    )
    return Dataset(folder.name, items, events)


FOOD_KITCHEN_DOMAINS = ("food", "kitchen")


def load_food_kitchen(src: str | Path) -> Dataset:
    """The LLMCDSR Food<->Kitchen release (github.com/xhran2010/LLMCDSR, data/food-kitchen).

    Files: num.txt (item counts of A=food and B=kitchen); item_set_{A,B}.pkl (asin -> local
    index); text_{A,B}.pkl (asin -> title); train_A.txt, train_B.txt, train_overlap.txt,
    valid.txt, test.txt ("user<TAB>i1,i2,..." where kitchen indices are offset by the food
    count). User ids restart per file, so each file gets its own prefix. The order of a
    sequence is its only time information: ts is the position in the sequence. The split
    holds the valid and test users, whose last item is the held-out target.
    """
    src = Path(src)
    n_food = int((src / "num.txt").read_text().split()[0])
    items, index_to_asin = [], {}
    for domain, tag, offset in (("food", "A", 0), ("kitchen", "B", n_food)):
        ids, texts = safe_pickle_load(src / f"item_set_{tag}.pkl"), safe_pickle_load(src / f"text_{tag}.pkl")
        for asin, local in ids.items():
            index_to_asin[offset + int(local)] = asin
            items.append({"item_id": asin, "domain": domain, "title": str(texts.get(asin, asin))})
    events: list[dict[str, Any]] = []
    split: list[dict[str, Any]] = []
    for stem, prefix in (
        ("train_A", "a"),
        ("train_B", "b"),
        ("train_overlap", "o"),
        ("valid", "v"),
        ("test", "t"),
    ):
        for line_no, line in enumerate((src / f"{stem}.txt").read_text().splitlines(), start=1):
            if not line.strip():
                continue
            user, seq = line.split("\t")
            try:
                asins = [index_to_asin[int(i)] for i in seq.split(",")]
            except (KeyError, ValueError) as exc:
                raise ValueError(f"{stem}.txt line {line_no}: unknown item index ({exc})") from exc
            user_id = f"{prefix}{int(user)}"
            events.extend(
                {"user_id": user_id, "item_id": a, "kind": "purchase", "ts": float(t)}
                for t, a in enumerate(asins)
            )
            if stem in ("valid", "test"):
                split.append({"user_id": user_id, "split": stem, "item_id": asins[-1]})
    return Dataset("food-kitchen", pd.DataFrame(items), pd.DataFrame(events), pd.DataFrame(split))


def save_dataset(dataset: Dataset, out: str | Path) -> Path:
    """Write the generic CSVs that `load_dataset` reads (categories as "a|b")."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = dataset.items.copy()
    for col in ("categories", "tags"):
        if col in items.columns:
            items[col] = items[col].map(lambda v: "|".join(v) if isinstance(v, list) else v)
    items.to_csv(out / "items.csv", index=False)
    dataset.events.to_csv(out / "events.csv", index=False)
    if dataset.split is not None:
        dataset.split.to_csv(out / "split.csv", index=False)
    return out


def synthetic_dataset(seed: int = 0, **kwargs: Any) -> Dataset:
    """`kg.synthetic.make_cross_domain` as a Dataset (domains books, films, music by default)."""
    from kg.synthetic import make_cross_domain

    data = make_cross_domain(seed=seed, **kwargs)
    return Dataset("synthetic", data.items, data.events)
