"""Learned bridges for `migrate`: LEADS_TO edges from the user's concepts into a target domain."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ikg.explain import transition_text
from ikg.results import Bridge


def learned_bridges(
    model, row: int, target_domain: str, ranked_target: list[int], limit: int
) -> list[Bridge]:
    """Up to `limit` bridges (source concept -LEADS_TO-> target-domain concept), strongest first.

    A bridge's weight is the user's share of that concept outside the target domain times the
    edge's weight (scaled so the best is 1); its `via` sentence names the bridging users' count.
    """
    idx = model.index
    if idx.LT is None or not idx.LT.nnz or row < 0 or limit <= 0:
        return []
    in_target = idx.item_domain == target_domain
    starts = idx.P_ui[row] @ sp.diags((~in_target).astype(np.float32))
    user_concepts = np.asarray((starts @ idx.P_ic).todense()).ravel()
    reach = np.asarray(idx.IC[np.flatnonzero(in_target)].sum(axis=0)).ravel()
    candidates: list[tuple[float, int, int]] = []
    for source in np.flatnonzero(user_concepts > 0).tolist():
        edges = idx.LT[source]
        for dst, w in zip(edges.indices.tolist(), edges.data.tolist()):
            if reach[dst] > 0:
                candidates.append((float(user_concepts[source] * w), int(source), int(dst)))
    candidates.sort(key=lambda t: (-t[0], idx.concepts[t[1]], idx.concepts[t[2]]))
    top = candidates[0][0] if candidates else 1.0
    history = idx.R[row].indices
    target_cols = np.flatnonzero(in_target)
    out: list[Bridge] = []
    used: set[int] = set()
    for score, c, d in candidates:
        if len(out) >= limit:
            break
        if c in used:
            continue
        used.add(c)
        carriers = [idx.items[j] for j in history if idx.IC[j, c] > 0 and not in_target[j]]
        having = set(target_cols[idx.IC[target_cols, d].toarray().ravel() > 0].tolist())
        ordered = [i for i in ranked_target if i in having] + sorted(
            having - set(ranked_target), key=lambda i: (-idx.popularity[i], idx.items[i])
        )
        source_domains = sorted({str(idx.item_domain[idx.item_index[j]]) for j in carriers}) or ["other"]
        key = idx.concepts[c]
        name = model.concept_names.get(key, key)
        name2 = model.concept_names.get(idx.concepts[d], idx.concepts[d])
        support = int(idx.LT_support[c, d]) if idx.LT_support is not None else 0
        out.append(
            Bridge(
                key,
                name,
                round(score / top, 4),
                carriers[:5],
                [idx.items[i] for i in ordered[:5]],
                transition_text(name, "/".join(source_domains), name2, target_domain, support),
            )
        )
    return out
