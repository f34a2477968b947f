"""Learned concept transitions (LEADS_TO): what engagement in one domain predicts in another.

Learned from behaviour only: for each ordered pair of domains (A, B), the users with positive
interactions in both ("bridging users") vote for every pair (concept c of an A item they
engaged with, concept d of a B item they engaged with). With N bridging users, n_c of them
with c on the A side, n_d with d on the B side and `support` with both, the edge weight is a
shrunk PMI

    weight = log( support * N / ((n_c + shrink) * n_d) )

kept when weight > 0 and support >= `min_support`, the `top_k` strongest per (c, A -> B).
The shrinkage pulls rare source concepts towards "no lift". A store keeps one relationship per
(c, d), so when the same pair is learned in both directions the stronger one is kept.

Whatever interactions are given are all that is used: the refresh passes its own training
events, so a user's hidden history can never reach these edges.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

MIN_SUPPORT = 3
SHRINK = 5.0
TOP_K = 25
COLUMNS = ["src", "dst", "weight", "support", "source_domain", "target_domain"]


def learn_transitions(
    interactions: pd.DataFrame,
    item_concepts: pd.DataFrame,
    item_domains: pd.Series,
    min_support: int = MIN_SUPPORT,
    shrink: float = SHRINK,
    top_k: int = TOP_K,
) -> pd.DataFrame:
    """LEADS_TO rows (src, dst, weight, support, source_domain, target_domain).

    interactions: user, item columns (`src`/`dst` or `user_id`/`item_id`) with an optional
    `weight` (only weight > 0 counts); item_concepts: item -> concept key (`item_id`/`src`,
    `key`/`dst`); item_domains: item id -> domain.
    """
    inter = _columns(interactions, ("user_id", "src"), ("item_id", "dst"))
    if "weight" in interactions:
        inter = inter[interactions["weight"].astype(float).to_numpy() > 0]
    concepts = _columns(item_concepts, ("item_id", "src"), ("key", "dst"))
    inter = inter.assign(domain=inter["item"].map(item_domains)).dropna(subset=["domain"])
    if inter.empty or concepts.empty:
        return pd.DataFrame(columns=COLUMNS)
    user_concept = inter.merge(concepts.rename(columns={"user": "item", "item": "concept"}), on="item")
    user_concept = user_concept[["user", "concept", "domain"]].drop_duplicates()
    spans = inter.groupby("user")["domain"].nunique()
    bridging = spans[spans > 1].index
    user_concept = user_concept[user_concept["user"].isin(bridging)]
    if user_concept.empty:
        return pd.DataFrame(columns=COLUMNS)
    users = pd.Index(sorted(user_concept["user"].unique()))
    keys = pd.Index(sorted(user_concept["concept"].unique()))
    out = []
    domains = sorted(user_concept["domain"].unique())
    matrices = {}
    for domain in domains:
        part = user_concept[user_concept["domain"] == domain]
        matrices[domain] = sp.csr_matrix(
            (
                np.ones(len(part), np.float32),
                (users.get_indexer(part["user"]), keys.get_indexer(part["concept"])),
            ),
            shape=(len(users), len(keys)),
        )
    active = {d: np.asarray(m.sum(axis=1)).ravel() > 0 for d, m in matrices.items()}
    for a in domains:
        for b in domains:
            if a == b:
                continue
            both = np.flatnonzero(active[a] & active[b])
            if not len(both):
                continue
            A, B = matrices[a][both], matrices[b][both]
            support = (A.T @ B).tocoo()
            keep = support.data >= min_support
            c, d, s = support.row[keep], support.col[keep], support.data[keep]
            n_c = np.asarray(A.sum(axis=0)).ravel()
            n_d = np.asarray(B.sum(axis=0)).ravel()
            weight = np.log(s * len(both) / ((n_c[c] + shrink) * n_d[d]))
            pos = weight > 0
            out.append(
                pd.DataFrame(
                    {
                        "src": keys[c[pos]],
                        "dst": keys[d[pos]],
                        "weight": weight[pos].astype(float),
                        "support": s[pos].astype(int),
                        "source_domain": a,
                        "target_domain": b,
                    }
                )
            )
    if not out:
        return pd.DataFrame(columns=COLUMNS)
    edges = pd.concat(out, ignore_index=True)
    edges = edges.sort_values(["weight", "support", "src", "dst"], ascending=[False, False, True, True])
    edges = edges.groupby(["src", "source_domain", "target_domain"], sort=False).head(top_k)
    edges = edges.drop_duplicates(["src", "dst"], keep="first")
    return edges.sort_values(["src", "dst"]).reset_index(drop=True)[COLUMNS]


def _columns(frame: pd.DataFrame, first: tuple[str, str], second: tuple[str, str]) -> pd.DataFrame:
    """The two key columns of `frame` as (user, item), whichever naming it uses."""
    a = first[0] if first[0] in frame else first[1]
    b = second[0] if second[0] in frame else second[1]
    return pd.DataFrame({"user": frame[a].astype(str).to_numpy(), "item": frame[b].astype(str).to_numpy()})
