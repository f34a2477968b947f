"""Optional generative extractor for any OpenAI-compatible chat endpoint (/v1/chat/completions).

Same interface as the local extractor. Per text, one chat completion with
response_format = json_schema ({"concepts": [{"name", "weight"}]}); names are then keyed with
the same lemmatising canonicaliser as local phrases, so both extractors share concept keys.

- Cache: one JSON file per request in cache_dir, named by sha256(model, prompt version, task,
  content); a cached answer costs no call and no budget.
- Concurrency: at most `concurrency` requests in flight (thread pool over one httpx.Client).
- Retries: transport errors, 408/429/5xx and unparseable answers are retried `retries` times
  with exponential backoff (backoff * 2**attempt seconds, or Retry-After when given, max 30 s).
- Budget: max_calls (HTTP requests, retries included) and max_tokens (usage.total_tokens);
  once spent, remaining texts go to the fallback.
- Fallback: every text the endpoint could not answer is extracted by the local extractor.
- The API key is read from the environment variable named by api_key_env; it is never
  logged and is masked in any error text that is logged or raised.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from tqdm.auto import tqdm

from encoders.textclean import clean_text
from encoders.types import ConceptExtractor, ExtractedConcept, ItemText

log = logging.getLogger(__name__)

PROMPT_VERSION = "v1"
MAX_PROMPT_CHARS = 1500
RESPONSE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "concepts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "weight": {"type": "number"}},
                "required": ["name", "weight"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["concepts"],
    "additionalProperties": False,
}
_SYSTEM = {
    "item": (
        "You extract the interest concepts of a catalogue item: genres, themes, subjects, styles, "
        "ingredients, product types. Short noun phrases (1-3 words), lower case unless a proper name, "
        "no generic words (book, product, great), no numbers or sizes. Weight 0-1 = how central. "
        "Return at most {k}."
    ),
    "review": (
        "You extract what a user is interested in from their review: subjects, genres, themes or "
        "product features they care about. Short noun phrases (1-3 words); no sentiment, no generic "
        "words. Weight 0-1 = how strongly. Return at most {k}; an empty list when there is none."
    ),
}


class BudgetExceeded(RuntimeError):
    """The call or token budget is spent."""


class LLMExtractor:
    """ConceptExtractor backed by an OpenAI-compatible chat endpoint, with cache, budget and fallback."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        cache_dir: str | os.PathLike | None = None,
        max_calls: int | None = None,
        max_tokens: int | None = None,
        concurrency: int = 4,
        retries: int = 3,
        backoff: float = 0.5,
        timeout: float = 60.0,
        max_concepts: int = 8,
        max_review_concepts: int = 5,
        fallback: ConceptExtractor | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.max_calls = max_calls
        self.max_tokens = max_tokens
        self.concurrency = max(1, concurrency)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.timeout = timeout
        self.max_concepts = max_concepts
        self.max_review_concepts = max_review_concepts
        self._fallback = fallback
        self._lock = threading.Lock()
        self.stats = {"calls": 0, "tokens": 0, "cache_hits": 0, "failures": 0, "fallbacks": 0}

    @property
    def fallback(self) -> ConceptExtractor:
        """The extractor used when the endpoint fails (the local one unless given)."""
        if self._fallback is None:
            from encoders.local import LocalExtractor

            self._fallback = LocalExtractor(
                max_concepts=self.max_concepts, max_review_concepts=self.max_review_concepts
            )
        return self._fallback

    def extract_items(
        self, items: Sequence[ItemText], show_progress: bool = False
    ) -> list[list[ExtractedConcept]]:
        """Top concepts per item from the endpoint; failed items come from the fallback."""
        payloads = [_item_prompt(it) for it in items]
        raw = self._run("item", payloads, self.max_concepts, show_progress)
        failed = [i for i, r in enumerate(raw) if r is None]
        out = self._to_concepts(raw, "llm", self.max_concepts)
        if failed:
            self.stats["fallbacks"] += len(failed)
            for i, concepts in zip(failed, self.fallback.extract_items([items[i] for i in failed])):
                out[i] = concepts
        return out

    def extract_reviews(
        self, texts: Sequence[str], show_progress: bool = False
    ) -> list[list[ExtractedConcept]]:
        """Interest points per review text (source "review"); failed texts come from the fallback."""
        cleaned = [clean_text(t, MAX_PROMPT_CHARS) for t in texts]
        todo = [i for i, t in enumerate(cleaned) if t]
        raw_todo = self._run("review", [cleaned[i] for i in todo], self.max_review_concepts, show_progress)
        raw: list[list[tuple[str, float]] | None] = [[] for _ in texts]
        for i, r in zip(todo, raw_todo):
            raw[i] = r
        failed = [i for i, r in enumerate(raw) if r is None]
        out = self._to_concepts(raw, "review", self.max_review_concepts)
        if failed:
            self.stats["fallbacks"] += len(failed)
            for i, concepts in zip(failed, self.fallback.extract_reviews([texts[i] for i in failed])):
                out[i] = concepts
        return out

    def _to_concepts(
        self, raw: list[list[tuple[str, float]] | None], source: str, k: int
    ) -> list[list[ExtractedConcept]]:
        """Model answers -> ExtractedConcepts keyed by the shared canonicaliser, deduplicated."""
        from encoders.local import label_phrases

        names = sorted({n for r in raw if r for n, _ in r})
        phrases = label_phrases(names)
        out: list[list[ExtractedConcept]] = []
        for r in raw:
            seen: dict[str, ExtractedConcept] = {}
            for name, weight in r or []:
                phrase = phrases.get(name)
                if phrase is None or phrase[0] in seen:
                    continue
                w = float(round(min(1.0, max(0.01, weight)), 4))
                seen[phrase[0]] = ExtractedConcept(phrase[0], phrase[1], w, source)
            out.append(sorted(seen.values(), key=lambda c: (-c.weight, c.key))[:k])
        return out

    def _run(
        self, task: str, payloads: list[str], k: int, show_progress: bool
    ) -> list[list[tuple[str, float]] | None]:
        """Answers per payload (None on failure), cached, concurrently, within budget."""
        if not payloads:
            return []
        api_key = os.environ.get(self.api_key_env, "")
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout) as client:
            with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                futures = [pool.submit(self._one, client, task, p, k, api_key) for p in payloads]
                results = []
                for f in tqdm(futures, desc=f"llm {task}s", disable=not show_progress):
                    results.append(f.result())
        return results

    def _one(
        self, client: httpx.Client, task: str, payload: str, k: int, api_key: str
    ) -> list[tuple[str, float]] | None:
        cache_file = self._cache_file(task, payload, k)
        if cache_file is not None and cache_file.exists():
            try:
                data = json.loads(cache_file.read_text(encoding="utf-8"))
                with self._lock:
                    self.stats["cache_hits"] += 1
                return [(str(n), float(w)) for n, w in data]
            except (ValueError, TypeError):
                log.warning("ignoring unreadable cache file %s", cache_file.name)
        body = {
            "model": self.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": _SYSTEM[task].format(k=k)},
                {"role": "user", "content": payload},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "concepts", "strict": True, "schema": RESPONSE_SCHEMA},
            },
        }
        for attempt in range(self.retries + 1):
            try:
                self._reserve_call()
                resp = client.post("/v1/chat/completions", json=body)
                if resp.status_code in (408, 429) or resp.status_code >= 500:
                    raise _Retryable(f"HTTP {resp.status_code}", _retry_after(resp))
                if resp.status_code >= 400:
                    raise RuntimeError(f"HTTP {resp.status_code}: {resp.text[:200]}")
                data = resp.json()
                self._spend_tokens(data)
                answer = _parse_answer(data)
                if cache_file is not None:
                    _atomic_write(cache_file, json.dumps(answer))
                return answer
            except BudgetExceeded:
                log.info("LLM budget spent; using the fallback extractor")
                return None
            except (_Retryable, httpx.TransportError, ValueError, KeyError, TypeError) as exc:
                wait = getattr(exc, "retry_after", None) or self.backoff * (2**attempt)
                log.warning("LLM call failed (attempt %d): %s", attempt + 1, _mask(str(exc), api_key))
                if attempt < self.retries:
                    time.sleep(min(30.0, wait))
            except RuntimeError as exc:
                log.warning("LLM call failed: %s", _mask(str(exc), api_key))
                break
        with self._lock:
            self.stats["failures"] += 1
        return None

    def _reserve_call(self) -> None:
        with self._lock:
            if self.max_calls is not None and self.stats["calls"] >= self.max_calls:
                raise BudgetExceeded("max_calls")
            if self.max_tokens is not None and self.stats["tokens"] >= self.max_tokens:
                raise BudgetExceeded("max_tokens")
            self.stats["calls"] += 1

    def _spend_tokens(self, data: dict) -> None:
        usage = data.get("usage") or {}
        with self._lock:
            self.stats["tokens"] += int(usage.get("total_tokens") or 0)

    def _cache_file(self, task: str, payload: str, k: int) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(
            json.dumps([self.model, PROMPT_VERSION, task, k, payload], ensure_ascii=False).encode("utf-8")
        ).hexdigest()
        return self.cache_dir / f"{digest}.json"


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(resp: httpx.Response) -> float | None:
    try:
        return float(resp.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _parse_answer(data: dict) -> list[tuple[str, float]]:
    """choices[0].message.content -> [(name, weight)]; raises ValueError when malformed."""
    content = data["choices"][0]["message"]["content"]
    parsed = json.loads(content) if isinstance(content, str) else content
    concepts = parsed["concepts"]
    if not isinstance(concepts, list):
        raise ValueError("concepts is not a list")
    out = []
    for c in concepts:
        name = str(c["name"]).strip()
        if name:
            out.append((name, float(c.get("weight", 0.5))))
    return out


def _item_prompt(item: ItemText) -> str:
    parts = [f"Title: {clean_text(item.title, 300)}"]
    if item.domain:
        parts.append(f"Domain: {item.domain}")
    if item.categories:
        parts.append("Categories: " + "; ".join(clean_text(c, 200) for c in item.categories))
    if item.tags:
        parts.append("Tags: " + "; ".join(clean_text(t, 100) for t in item.tags))
    if item.description:
        parts.append(f"Description: {clean_text(item.description, MAX_PROMPT_CHARS)}")
    return "\n".join(parts)


def _mask(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
