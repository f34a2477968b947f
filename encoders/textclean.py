"""Cleaning of raw item / review text before extraction: HTML, whitespace, length, language.

Rules (documented because they decide what extraction sees):
- HTML tags, <script>/<style> bodies and comments are removed, entities unescaped (&amp; -> &).
- Whitespace is collapsed; control characters dropped.
- Texts are truncated to MAX_CHARS characters (cut at the last space before the limit).
  MiniLM reads at most 256 word pieces (~1,000 characters), so the tail of a very long
  description cannot change the text vector; the cut also bounds spaCy time per item.
- A text is treated as non-English when fewer than half its letters are ASCII, or when it
  has at least 8 words and under 8% of them are common English function words. Non-English
  texts yield no phrase candidates (the English parser would produce noise); categories and
  tags still count.
"""

from __future__ import annotations

import html
import re

MAX_CHARS = 2000

_SCRIPT = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_BLOCK_TAG = re.compile(r"<\s*/?\s*(br|p|div|li|ul|ol|tr|td|h[1-6])\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,500}>")
_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
_DOTS = re.compile(r"(?:\s*\.\s*){2,}")
_WORD = re.compile(r"[A-Za-z']+")

_ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "this",
        "that",
        "it",
        "its",
        "as",
        "by",
        "at",
        "from",
        "but",
        "not",
        "he",
        "she",
        "they",
        "we",
        "you",
        "i",
        "his",
        "her",
        "their",
        "our",
        "your",
        "has",
        "have",
        "had",
        "will",
        "would",
        "can",
    ]
)


def clean_text(text: str | None, max_chars: int = MAX_CHARS) -> str:
    """Plain, single-spaced text without HTML, at most max_chars long. Never raises."""
    if not text:
        return ""
    s = str(text)
    had_html = "<" in s
    if had_html:
        s = _SCRIPT.sub(" ", s)
        s = _COMMENT.sub(" ", s)
        s = _BLOCK_TAG.sub(". ", s)
        s = _TAG.sub(" ", s)
    if "&" in s:
        s = html.unescape(s)
    s = _CTRL.sub(" ", s)
    s = _SPACE.sub(" ", s).strip()
    if had_html:
        s = _DOTS.sub(". ", s).strip(" .")
    if len(s) > max_chars:
        cut = s.rfind(" ", 0, max_chars)
        s = s[: cut if cut > max_chars // 2 else max_chars]
    return s


def looks_english(text: str) -> bool:
    """Cheap language guess (see module docstring); empty text counts as English."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True
    ascii_share = sum(c.isascii() for c in letters) / len(letters)
    if ascii_share < 0.5:
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 8:
        return True
    share = sum(w in _ENGLISH_FUNCTION_WORDS for w in words) / len(words)
    return share >= 0.08
