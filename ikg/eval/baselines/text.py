"""Text-only baseline: MiniLM vectors of item text; a user is the mean (or last) of their history."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

Encode = Callable[[Sequence[str]], np.ndarray]

_MEMO: dict[str, np.ndarray] = {}


def item_texts(items: pd.DataFrame) -> list[str]:
    """Title, then categories and tags, then description: the text each item is encoded from."""

    def join(value) -> str:
        if isinstance(value, (list, tuple, np.ndarray)):
            return ", ".join(str(v) for v in value)
        return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)

    parts = [items["title"].map(join)]
    for col in ("categories", "tags", "description"):
        if col in items.columns:
            parts.append(items[col].map(join))
    return [". ".join(p for p in row if p) for row in zip(*parts)]


def _default_encode(texts: Sequence[str]) -> np.ndarray:
    from encoders.text_encoder import get_text_encoder

    return get_text_encoder().encode(list(texts))


def tfidf_lsa_encode(texts: Sequence[str], dim: int = 256, seed: int = 0) -> np.ndarray:
    """A model-free stand-in for MiniLM: TF-IDF (words and bigrams) reduced by truncated SVD.

    Useful when the sentence model is too slow for a large catalogue; label results accordingly.
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(texts)
    dim = max(1, min(dim, tfidf.shape[1] - 1, len(texts) - 1))
    return TruncatedSVD(dim, random_state=seed).fit_transform(tfidf).astype(np.float32)


def encode_cached(texts: list[str], encode: Encode, cache_dir: str | None = None) -> np.ndarray:
    """Encode texts once per process (and once per cache_dir across processes)."""
    key = hashlib.sha1("\x1f".join(texts).encode()).hexdigest()
    if key in _MEMO:
        return _MEMO[key]
    path = Path(cache_dir) / f"text-{key}.npy" if cache_dir else None
    if path is not None and path.exists():
        vectors = np.load(path)
    else:
        vectors = np.asarray(encode(texts), dtype=np.float32)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, vectors)
    _MEMO[key] = vectors
    return vectors


class TextSimilarity:
    """Cosine between a user vector and candidate item vectors.

    user="mean": mean of all history vectors; "last": the latest history item; "recent":
    mean of the last `recent_n` items (order by ts when present, else frame order).
    `encode` defaults to the project's MiniLM encoder; `cache_dir` (or env IKG_EVAL_CACHE)
    keeps vectors between runs.
    """

    def __init__(
        self,
        user: str = "mean",
        recent_n: int = 5,
        encode: Encode | None = None,
        cache_dir: str | None = None,
    ) -> None:
        if user not in ("mean", "last", "recent"):
            raise ValueError(f"user must be mean, last or recent, not {user!r}")
        self.name = "text"
        self.user, self.recent_n = user, recent_n
        self.encode = encode or _default_encode
        self.cache_dir = cache_dir or os.environ.get("IKG_EVAL_CACHE")
        self._index: dict[str, int] = {}
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._history: dict[str, np.ndarray] = {}

    def fit(self, train: pd.DataFrame, items: pd.DataFrame) -> None:
        items = items.drop_duplicates("item_id").reset_index(drop=True)
        vectors = encode_cached(item_texts(items), self.encode, self.cache_dir)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._vectors = vectors / np.maximum(norms, 1e-12)
        self._index = {str(i): n for n, i in enumerate(items["item_id"])}
        ordered = train.reset_index(drop=True)
        if "ts" in ordered.columns and ordered["ts"].notna().all():
            ordered = ordered.sort_values("ts", kind="stable")
        cols = ordered["item_id"].astype(str).map(self._index)
        ordered = ordered.assign(_col=cols).dropna(subset=["_col"])
        self._history = {
            u: g.to_numpy(dtype=np.int64) for u, g in ordered.groupby("user_id", sort=False)["_col"]
        }

    def _user_vector(self, user_id: str) -> np.ndarray:
        hist = self._history.get(str(user_id))
        if hist is None or len(hist) == 0:
            return np.zeros(self._vectors.shape[1], dtype=np.float32)
        if self.user == "last":
            hist = hist[-1:]
        elif self.user == "recent":
            hist = hist[-self.recent_n :]
        v = self._vectors[hist].mean(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def score(self, user_ids: Sequence[str], item_ids: Sequence[str]) -> np.ndarray:
        U = np.stack([self._user_vector(u) for u in user_ids])
        cols = np.array([self._index[str(i)] for i in item_ids])
        return U @ self._vectors[cols].T
