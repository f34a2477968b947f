"""`top_k_per_row` keeps each row's k largest entries and breaks ties by item index, so neighbour
lists are the same whatever order a row's entries happen to be stored in."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from kg.proximity import top_k_per_row


def _kept(matrix: sp.csr_matrix) -> list[list[tuple[int, float]]]:
    m = matrix.tocsr()
    return [
        sorted(zip(m.indices[m.indptr[r] : m.indptr[r + 1]].tolist(), m.data[m.indptr[r] : m.indptr[r + 1]]))
        for r in range(m.shape[0])
    ]


def _reference(dense: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """The rule written out: per row, nonzero entries by value descending, then column ascending."""
    out = []
    for row in dense:
        cols = [c for c in np.flatnonzero(row)]
        best = sorted(cols, key=lambda c: (-row[c], c))[:k]
        out.append(sorted((int(c), float(row[c])) for c in best))
    return out


def test_equal_values_keep_the_lowest_item_indices():
    row = np.array([[0.5, 2.0, 2.0, 2.0, 2.0, 3.0, 2.0]])
    kept = _kept(top_k_per_row(sp.csr_matrix(row), 3))
    assert kept == [[(1, 2.0), (2, 2.0), (5, 3.0)]]


def test_a_row_of_all_ties_keeps_its_first_k_items_whatever_the_storage_order():
    n, k = 500, 20
    cols = np.random.default_rng(3).permutation(n)
    unsorted = sp.csr_matrix((np.ones(n), cols, np.array([0, n])), shape=(1, n))
    assert not unsorted.has_sorted_indices
    kept = _kept(top_k_per_row(unsorted, k))
    assert [c for c, _ in kept[0]] == list(range(k))


def test_many_ties_match_the_written_rule_and_repeat_exactly():
    rng = np.random.default_rng(7)
    dense = rng.integers(0, 4, size=(60, 300)).astype(np.float32)  # values 1..3: ties everywhere
    for k in (1, 5, 40):
        got = _kept(top_k_per_row(sp.csr_matrix(dense), k))
        assert got == _reference(dense, k)
        assert got == _kept(top_k_per_row(sp.csr_matrix(dense), k))


def test_rows_with_at_most_k_entries_are_kept_whole():
    dense = np.array([[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]])
    assert _kept(top_k_per_row(sp.csr_matrix(dense), 2)) == _reference(dense, 2)
