"""Explanations: the strongest real graph paths from a user to an item.

Path kinds, each scored by the product of its edge weights (interaction weights scaled by
the user's strongest; concept, topic and related-concept weights as stored) times a factor
per kind (`KIND_WEIGHT`: a direct shared interest explains best, a shared topic least):

    interest      (User)-[:INTERESTED_IN]->(Concept)<-[:HAS_CONCEPT]-(Item)
    history       (User)-[:INTERACTED]->(Item)-[:HAS_CONCEPT]->(Concept)<-[:HAS_CONCEPT]-(Item)
    co_engagement (User)-[:INTERACTED]->(Item)<-[:INTERACTED]-(User)-[:INTERACTED]->(Item)
    related       (User)-[:INTERESTED_IN]->(Concept)-[:RELATED_TO]-(Concept)<-[:HAS_CONCEPT]-(Item)
    topic         (User)-[:INTERESTED_IN]->(Concept)-[:IN_TOPIC]->(Topic)<-[:IN_TOPIC]-(Concept)<-[:HAS_CONCEPT]-(Item)
    transition    (User)-[:INTERACTED]->(Item)-[:HAS_CONCEPT]->(Concept)-[:LEADS_TO]->(Concept)<-[:HAS_CONCEPT]-(Item)
                  (a learned cross-domain bridge; its sentence names the bridging users' count)

Every path carries parameterised Cypher that returns exactly that path in Neo4j Browser.
"""

from __future__ import annotations

from ikg.results import Explanation, PathStep

CYPHER = {
    "interest": "MATCH p = (u:User {id: $user_id})-[:INTERESTED_IN]->(c:Concept {key: $concept})"
    "<-[:HAS_CONCEPT]-(i:Item {id: $item_id}) RETURN p",
    "history": "MATCH p = (u:User {id: $user_id})-[:INTERACTED]->(j:Item {id: $via_item})"
    "-[:HAS_CONCEPT]->(c:Concept {key: $concept})<-[:HAS_CONCEPT]-(i:Item {id: $item_id}) RETURN p",
    "co_engagement": "MATCH p = (u:User {id: $user_id})-[:INTERACTED]->(j:Item {id: $via_item})"
    "<-[:INTERACTED]-(v:User {id: $via_user})-[:INTERACTED]->(i:Item {id: $item_id}) RETURN p",
    "related": "MATCH p = (u:User {id: $user_id})-[:INTERESTED_IN]->(c:Concept {key: $concept})"
    "-[:RELATED_TO]-(d:Concept {key: $concept2})<-[:HAS_CONCEPT]-(i:Item {id: $item_id}) RETURN p",
    "transition": "MATCH p = (u:User {id: $user_id})-[:INTERACTED]->(j:Item {id: $via_item})"
    "-[:HAS_CONCEPT]->(c:Concept {key: $concept})-[:LEADS_TO]->(d:Concept {key: $concept2})"
    "<-[:HAS_CONCEPT]-(i:Item {id: $item_id}) RETURN p",
    "topic": "MATCH p = (u:User {id: $user_id})-[:INTERESTED_IN]->(c:Concept {key: $concept})"
    "-[:IN_TOPIC]->(t:Topic {id: $topic})<-[:IN_TOPIC]-(d:Concept {key: $concept2})"
    "<-[:HAS_CONCEPT]-(i:Item {id: $item_id}) RETURN p",
}
RELS = {
    "interest": ["INTERESTED_IN", "HAS_CONCEPT"],
    "history": ["INTERACTED", "HAS_CONCEPT", "HAS_CONCEPT"],
    "co_engagement": ["INTERACTED", "INTERACTED", "INTERACTED"],
    "related": ["INTERESTED_IN", "RELATED_TO", "HAS_CONCEPT"],
    "topic": ["INTERESTED_IN", "IN_TOPIC", "IN_TOPIC", "HAS_CONCEPT"],
    "transition": ["INTERACTED", "HAS_CONCEPT", "LEADS_TO", "HAS_CONCEPT"],
}
_PER_KIND = 3
KIND_WEIGHT = {
    "interest": 1.0,
    "history": 0.8,
    "transition": 0.7,
    "co_engagement": 0.5,
    "related": 0.6,
    "topic": 0.3,
}


_FAN_OUT = 50
"""At each hop only the strongest `_FAN_OUT` neighbours are followed, so explain stays fast on hubs."""


def _nz(row, limit: int = _FAN_OUT) -> list[tuple[int, float]]:
    """Nonzeros of a sparse row as (column, value), strongest `limit` first."""
    row = row.tocsr()
    pairs = sorted(zip(row.indices.tolist(), row.data.tolist()), key=lambda p: (-p[1], p[0]))
    return pairs[:limit]


def explain_paths(model, user_id: str, item_id: str, limit: int = 5) -> list[Explanation]:
    """The `limit` strongest paths from `user_id` to `item_id` in the serving graph."""
    idx = model.index
    u, i = idx.user_index.get(user_id), idx.item_index.get(item_id)
    if u is None or i is None:
        return []
    names = model.concept_names
    item_concepts = dict(_nz(idx.IC[i], limit=10_000))  # concept -> HAS_CONCEPT weight
    found: list[tuple[float, str, list[PathStep], dict]] = []

    def step_user(key):
        return PathStep("User", key, key)

    def step_item(col):
        key = idx.items[col]
        return PathStep("Item", key, model.titles.get(key, key))

    def step_concept(col):
        key = idx.concepts[col]
        return PathStep("Concept", key, names.get(key, key))

    def scaled_history(row: int) -> list[tuple[int, float]]:
        pairs = _nz(idx.R[row])
        top = max((w for _, w in pairs), default=1.0)
        return [(j, w / top) for j, w in pairs]

    user_concepts = _nz(idx.UC[u])
    history = [(j, w) for j, w in scaled_history(u) if j != i]
    for c, w in user_concepts:
        if c in item_concepts:
            found.append(
                (
                    KIND_WEIGHT["interest"] * w * item_concepts[c],
                    "interest",
                    [step_user(user_id), step_concept(c), step_item(i)],
                    {"concept": idx.concepts[c]},
                )
            )
    for j, wj in history:
        for c, wc in _nz(idx.IC[j]):
            if c in item_concepts:
                found.append(
                    (
                        KIND_WEIGHT["history"] * wj * wc * item_concepts[c],
                        "history",
                        [step_user(user_id), step_item(j), step_concept(c), step_item(i)],
                        {"via_item": idx.items[j], "concept": idx.concepts[c]},
                    )
                )
    item_users = set(idx.R.T[i].tocsr().indices.tolist())
    for j, wj in history:
        for v, _ in _nz(idx.R.T[j]):
            if v != u and v in item_users:
                weights = dict(scaled_history(v))
                if j in weights and i in weights:
                    found.append(
                        (
                            KIND_WEIGHT["co_engagement"] * wj * weights[j] * weights[i],
                            "co_engagement",
                            [step_user(user_id), step_item(j), step_user(idx.users[v]), step_item(i)],
                            {"via_item": idx.items[j], "via_user": idx.users[v]},
                        )
                    )
    for c, w in user_concepts:
        for d, score in _nz(idx.CC[c]):
            if d in item_concepts and d != c:
                found.append(
                    (
                        KIND_WEIGHT["related"] * w * score * item_concepts[d],
                        "related",
                        [step_user(user_id), step_concept(c), step_concept(d), step_item(i)],
                        {"concept": idx.concepts[c], "concept2": idx.concepts[d]},
                    )
                )
    if idx.LT is not None and idx.LT.nnz:
        found.extend(
            _transition_paths(model, user_id, i, history, item_concepts, step_user, step_item, step_concept)
        )
    topic_of = {int(c): (int(t), float(idx.CT[c, t])) for c, t in zip(*idx.CT.nonzero())}
    for c, w in user_concepts:
        if c not in topic_of:
            continue
        t, wt = topic_of[c]
        for d, wd in item_concepts.items():
            if d != c and d in topic_of and topic_of[d][0] == t:
                topic = idx.topics[t]
                found.append(
                    (
                        KIND_WEIGHT["topic"] * w * wt * topic_of[d][1] * wd,
                        "topic",
                        [
                            step_user(user_id),
                            step_concept(c),
                            PathStep("Topic", topic, topic),
                            step_concept(d),
                            step_item(i),
                        ],
                        {"concept": idx.concepts[c], "topic": topic, "concept2": idx.concepts[d]},
                    )
                )
    found.sort(key=lambda f: (-f[0], f[1], [s.key for s in f[2]]))
    per_kind: dict[str, int] = {}
    out: list[Explanation] = []
    for score, kind, steps, extra in found:
        if per_kind.get(kind, 0) >= _PER_KIND:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        text = extra.pop("_text", None) or describe(kind, steps)
        params = {"user_id": user_id, "item_id": item_id, **extra}
        out.append(Explanation(kind, steps, RELS[kind], round(float(score), 8), text, CYPHER[kind], params))
        if len(out) >= limit:
            break
    return out


def _transition_paths(model, user_id, i, history, item_concepts, step_user, step_item, step_concept) -> list:
    """Paths through a learned LEADS_TO edge from a concept of an item the user engaged with in
    another domain to a concept of item `i` (score: history x HAS_CONCEPT x LEADS_TO x HAS_CONCEPT)."""
    idx = model.index
    domain = idx.item_domain[i]
    top = max((float(v) for v in idx.LT.data), default=1.0) or 1.0
    found = []
    for j, wj in history:
        if idx.item_domain[j] == domain:
            continue
        for c, wc in _nz(idx.IC[j]):
            for d, w in _nz(idx.LT[c]):
                if d not in item_concepts:
                    continue
                support = int(idx.LT_support[c, d]) if idx.LT_support is not None else 0
                extra = {
                    "via_item": idx.items[j],
                    "concept": idx.concepts[c],
                    "concept2": idx.concepts[d],
                    "_text": transition_text(
                        model.concept_names.get(idx.concepts[c], idx.concepts[c]),
                        str(idx.item_domain[j]),
                        model.concept_names.get(idx.concepts[d], idx.concepts[d]),
                        str(domain),
                        support,
                    ),
                }
                steps = [step_user(user_id), step_item(j), step_concept(c), step_concept(d), step_item(i)]
                score = KIND_WEIGHT["transition"] * wj * wc * (w / top) * item_concepts[d]
                found.append((score, "transition", steps, extra))
    return found


def transition_text(concept: str, source_domain: str, concept2: str, target_domain: str, support: int) -> str:
    """The sentence of a learned bridge: "people who engage with 'tea' in food often engage with
    'teapot' in kitchen: 212 users" (support = users active in both domains behind the edge)."""
    return (
        f"people who engage with '{concept}' in {source_domain} often engage with "
        f"'{concept2}' in {target_domain}: {support} users"
    )


def describe(kind: str, steps: list[PathStep]) -> str:
    """One readable sentence for a path."""
    item = steps[-1].name
    if kind == "interest":
        return f"you are interested in '{steps[1].name}', a theme of '{item}'"
    if kind == "history":
        return f"'{steps[1].name}', which you engaged with, shares '{steps[2].name}' with '{item}'"
    if kind == "co_engagement":
        return f"someone who also engaged with '{steps[1].name}' engaged with '{item}'"
    if kind == "related":
        return f"your interest '{steps[1].name}' is related to '{steps[2].name}', a theme of '{item}'"
    return f"your interest '{steps[1].name}' and '{steps[3].name}' ('{item}') share a topic"
