r"""InterestGNN: an inductive, text-initialised LightGCN over users, items, concepts and topics.

Initial vectors (layer 0) come from content, plus an ID residual for nodes seen in training:

.. math::
    h^{(0)}_i = W_I\,t_i + b_I + \mathbb{1}[i \in \mathcal{T}]\,z_i \qquad
    h^{(0)}_c = W_C\,t_c + b_C + \mathbb{1}[c \in \mathcal{T}]\,z_c \qquad
    h^{(0)}_\tau = W_C\,t_\tau + b_C

where :math:`t` is the 384-d MiniLM text vector of an item :math:`i`, concept :math:`c` or
topic :math:`\tau` (zero when missing), :math:`z` an optional ID embedding that exists only
for nodes seen in training (:math:`\mathcal{T}`; zero for new ones), and a user is the
weighted mean of what it touched, plus its own ID vector when it was seen in training:

.. math::
    h^{(0)}_u = \frac{\sum_{i} w_{ui} h^{(0)}_i + \beta \sum_{c} w_{uc} h^{(0)}_c}
                     {\sum_{i} w_{ui} + \beta \sum_{c} w_{uc}}
                \;+\; \mathbb{1}[u \in \mathcal{T}]\,z_u

over its positive INTERACTED items and INTERESTED_IN concepts. Then LightGCN propagation
on the symmetric weighted graph :math:`W` of the positive edges user-item, user-concept,
item-concept, concept-topic (and concept-concept RELATED_TO), normalised as
:math:`\hat A = D^{-1/2} W D^{-1/2}` with weighted degrees :math:`D`:

.. math::
    h^{(k+1)} = \hat A\, h^{(k)}, \qquad e = \frac{1}{K+1}\sum_{k=0}^{K} h^{(k)},
    \qquad \hat y_{ui} = e_u^\top e_i .

Because a node's ID row is only a residual on top of its content mean, a user (or item)
added after training gets a vector from one forward pass over the current graph (its
:math:`z` is zero). :math:`\hat A` is a torch CSR matrix (`torch.sparse.mm`), about 4x
faster than `edge_index` message passing on CPU. Negative-weight edges (dislikes) never
propagate.

Choices, by measurement (benchmarks/bench_gnn.py --quality: synthetic cross-domain data,
cold start into films, 2 cores). Design choices were made on dev seeds 4 5 6 (360 held-out
users), as the paired difference to a tuned ID-only PyG LightGCN (Recall@20 / NDCG@20);
the default seeds are reported, not tuned on: seeds 0 1 +0.000 [-0.013, +0.013] /
+0.011 [+0.002, +0.019], seeds 2 3 +0.005 [-0.008, +0.019] / +0.003 [-0.007, +0.012], so
the model is level with LightGCN on recall and at best slightly ahead on NDCG there
(docs/evaluation.md says why this data leaves little room):

- mean-of-neighbours users (what makes the model inductive) plus a user ID residual
  :math:`z_u` (`GnnConfig.use_user_id_embedding`). Without it a user is a count-weighted
  mean of their items, so a user with two planted interests leans to the one they touched
  more in the source domains (the slot split of their top 20 follows their source counts,
  correlation 0.77-0.87 against 0.61-0.71 for LightGCN), while a free ID vector trained
  with BPR balances both. Mean only +0.007 / +0.003 (CIs cross 0); with :math:`z_u`
  +0.012 / +0.010; with :math:`z_u` and the auxiliary concept loss at 0.5 (was 0.1)
  +0.016 [+0.006, +0.026] / +0.011 [+0.004, +0.017]; validation recall rose with it
  (0.652/0.627/0.642 to 0.660/0.639/0.652). Users with no positive edge get no ID row;
- item / concept ID embeddings (`GnnConfig.use_id_embedding`): without them -0.008 / -0.003
  against +0.007 / +0.003 with them (mean-only users); they carry the collaborative signal;
- K=2 by default: K=3 gave +0.009 / +0.009 with the same rest, for ~1.2-1.35x the epoch time;
- tried and not kept (all within noise of the default, +0.003 to +0.016 Recall@20): hiding a
  user's whole domain in the supervision split, a density-normalised (saturating) user mean,
  saturating the INTERESTED_IN weights, reading users out from their neighbours' final
  vectors, sampled softmax over 64/256 same-domain items instead of BPR, an EMA of the
  parameters, a larger learning rate on user IDs, ID-only vectors for trained users,
  lr 0.003-0.03, dim 32/128, 4 negatives, weight decay 0-1e-4, user_concept_beta 0-100
  (each with or without :math:`z_u`);
- uniform layer mean (LightGCN's alpha = 1/(K+1)); no non-linearity, no attention: more
  parameters did not pay at these sizes in LightGCN's own ablations, and keep it fast.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.data import HeteroData
from torch_geometric.utils import to_torch_csr_tensor

torch.sparse.check_sparse_tensor_invariants.disable()
"""The CSR adjacencies come from to_torch_csr_tensor over coalesced indices: checking their invariants
again costs time. Saying so explicitly also stops torch warning that checks are "implicitly disabled"."""

PROPAGATED = (
    ("user", "interacted", "item"),
    ("user", "interested_in", "concept"),
    ("item", "has_concept", "concept"),
    ("concept", "in_topic", "topic"),
    ("concept", "related_to", "concept"),
)
"""Edge types whose positive-weight edges carry messages (both directions)."""

NODE_ORDER = ("user", "item", "concept", "topic")
"""Layout of the stacked node matrix: users first, then items, concepts, topics."""


@dataclass
class PropGraph:
    """Everything a forward pass needs, built once per graph (see `build_prop_graph`)."""

    offsets: dict[str, int]
    counts: dict[str, int]
    x: dict[str, Tensor]
    id_rows: dict[str, Tensor]
    user_mean: Tensor
    adj: Tensor

    @property
    def num_nodes(self) -> int:
        return sum(self.counts.values())


def _positive(data: HeteroData, edge: tuple[str, str, str], drop: Tensor | None) -> tuple[Tensor, Tensor]:
    """Edge index and weight of the positive edges of `edge`, minus the ones flagged in `drop`."""
    if edge not in data.edge_types:
        return torch.zeros((2, 0), dtype=torch.long), torch.zeros(0)
    index, weight = data[edge].edge_index, data[edge].edge_weight.float()
    keep = weight > 0
    if drop is not None:
        keep &= ~drop
    return index[:, keep], weight[keep]


def _user_mean(data: HeteroData, counts: dict[str, int], beta: float, drop: Tensor | None) -> Tensor:
    """Row-normalised CSR (users x [items | concepts]) that averages a user's neighbours."""
    inter, w_inter = _positive(data, ("user", "interacted", "item"), drop)
    interest, w_interest = _positive(data, ("user", "interested_in", "concept"), None)
    cols = torch.cat([inter[1], interest[1] + counts["item"]])
    rows = torch.cat([inter[0], interest[0]])
    weight = torch.cat([w_inter, beta * w_interest])
    total = torch.zeros(counts["user"]).index_add_(0, rows, weight)
    weight = weight / total[rows].clamp(min=1e-12)
    size = (counts["user"], counts["item"] + counts["concept"])
    return to_torch_csr_tensor(torch.stack([rows, cols]), weight, size=size)


def _normalised_adjacency(
    data: HeteroData, offsets: dict[str, int], n: int, use_related: bool, drop: Tensor | None
) -> Tensor:
    """Symmetric :math:`D^{-1/2} W D^{-1/2}` over the positive propagated edges, as CSR."""
    parts, weights = [], []
    for edge in PROPAGATED:
        if edge[1] == "related_to" and not use_related:
            continue
        index, weight = _positive(data, edge, drop if edge[1] == "interacted" else None)
        index = torch.stack([index[0] + offsets[edge[0]], index[1] + offsets[edge[2]]])
        parts += [index, index.flip(0)]
        weights += [weight, weight]
    index, weight = torch.cat(parts, dim=1), torch.cat(weights)
    degree = torch.zeros(n).index_add_(0, index[0], weight)
    inv_sqrt = degree.clamp(min=1e-12).pow(-0.5) * (degree > 0)
    weight = inv_sqrt[index[0]] * weight * inv_sqrt[index[1]]
    return to_torch_csr_tensor(index, weight, size=(n, n))


def build_prop_graph(
    data: HeteroData,
    id_rows: dict[str, Tensor],
    beta: float = 1.0,
    use_related: bool = True,
    drop_interactions: Tensor | None = None,
) -> PropGraph:
    """The propagation graph of `data`.

    `id_rows[t]` gives, per node of type `t` (item, concept, and user when the model has
    user ID vectors), its row in the model's ID embedding or -1. `drop_interactions` flags
    INTERACTED edges to leave out (held-out validation edges): they neither propagate nor
    count in the user mean.
    """
    counts = {t: int(data[t].num_nodes or 0) for t in NODE_ORDER}
    offsets, at = {}, 0
    for t in NODE_ORDER:
        offsets[t], at = at, at + counts[t]
    x = {t: data[t].x.float() for t in ("item", "concept", "topic")}
    return PropGraph(
        offsets=offsets,
        counts=counts,
        x=x,
        id_rows=id_rows,
        user_mean=_user_mean(data, counts, beta, drop_interactions),
        adj=_normalised_adjacency(data, offsets, at, use_related, drop_interactions),
    )


class InterestGNN(nn.Module):
    """The model of the module docstring. `forward` returns e for every node, stacked in NODE_ORDER."""

    def __init__(
        self,
        text_dim: int,
        dim: int,
        layers: int,
        num_item_ids: int = 0,
        num_concept_ids: int = 0,
        num_user_ids: int = 0,
    ) -> None:
        super().__init__()
        self.layers = layers
        self.item_proj = nn.Linear(text_dim, dim)
        self.concept_proj = nn.Linear(text_dim, dim)
        self.item_id = nn.Embedding(max(num_item_ids, 1), dim)
        self.concept_id = nn.Embedding(max(num_concept_ids, 1), dim)
        self.user_id = nn.Embedding(max(num_user_ids, 1), dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for proj in (self.item_proj, self.concept_proj):
            nn.init.xavier_uniform_(proj.weight)
            nn.init.zeros_(proj.bias)
        for table in (self.item_id, self.concept_id, self.user_id):
            nn.init.normal_(table.weight, std=0.1)

    @staticmethod
    def _lookup(table: nn.Embedding, rows: Tensor) -> Tensor:
        known = (rows >= 0).unsqueeze(1).to(table.weight.dtype)
        return table(rows.clamp(min=0)) * known

    def initial(self, graph: PropGraph) -> Tensor:
        """Layer-0 vectors of every node, stacked in NODE_ORDER."""
        item = self.item_proj(graph.x["item"]) + self._lookup(self.item_id, graph.id_rows["item"])
        concept = self.concept_proj(graph.x["concept"]) + self._lookup(
            self.concept_id, graph.id_rows["concept"]
        )
        topic = self.concept_proj(graph.x["topic"])
        user = torch.sparse.mm(graph.user_mean, torch.cat([item, concept]))
        if "user" in graph.id_rows:
            user = user + self._lookup(self.user_id, graph.id_rows["user"])
        return torch.cat([user, item, concept, topic])

    def forward(self, graph: PropGraph) -> Tensor:
        h = self.initial(graph)
        out = h
        for _ in range(self.layers):
            h = torch.sparse.mm(graph.adj, h)
            out = out + h
        return out / (self.layers + 1)

    def split(self, graph: PropGraph, out: Tensor) -> dict[str, Tensor]:
        """The stacked output cut into one matrix per node type."""
        return {t: out[graph.offsets[t] : graph.offsets[t] + graph.counts[t]] for t in NODE_ORDER}


def id_rows_for(keys: list[str], trained: list[str]) -> Tensor:
    """Row of each key in an ID table trained on `trained` keys, or -1 for unseen keys."""
    where = {k: i for i, k in enumerate(trained)}
    return torch.tensor([where.get(k, -1) for k in keys], dtype=torch.long)


def score(users: Tensor, items: Tensor) -> Tensor:
    """The model's preference score: a dot product (vectors are not normalised)."""
    return users @ items.T


__all__ = ["InterestGNN", "PropGraph", "build_prop_graph", "id_rows_for", "score"]
