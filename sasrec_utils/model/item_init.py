"""Item vectors from the training items' co-occurrence, to start the item table from.

Two items bought within a few events of each other in the same history co-occur. The
positive pointwise mutual information of those counts (PPMI), factorised by a truncated
SVD, gives each item a vector such that items bought beside the same items get similar
vectors: the count-based twin of word2vec (Levy & Goldberg, NeurIPS 2014) that item2vec
(Barkan & Koenigstein, 2016) carried to items. ``config.ppmi_init_window`` starts SASRec's item
table (also its output layer) from them instead of random vectors; training proceeds as
usual. Built from the sequences SASRec trains on (``split.train``), so under the papers'
protocol it sees no validation or test item.

Shapes: V = n_items + 1 (row and column 0 are padding), D the vectors' width.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds
from threadpoolctl import threadpool_limits

from ..data.sequences import Sequences, pair_counts

# up to this many items the SVD is exact and dense; above, scipy's truncated sparse one
DENSE_SVD_MAX_ITEMS = 2_000


def ppmi_matrix(train: Sequences, n_items: int, window: int) -> sp.csr_matrix:
    """(V, V) symmetric ``max(0, log(C[a, b] * total / (C[a] * C[b])))``.

    ``C`` counts pairs within ``window`` events of each other in one row, both ways round;
    ``C[a]`` is a row's sum and ``total`` the sum of all counts. Zero where never together.
    """
    forward = pair_counts(train, n_items, window)
    if not forward.nnz:
        raise ValueError(
            f"no two items within {window} events of each other in any training history: "
            "the co-occurrence start needs histories of 2 or more items; set "
            "ppmi_init_window=0"
        )
    counts = (forward + forward.T).tocoo()
    total = counts.data.sum()
    row_sums = np.asarray(counts.sum(axis=1)).ravel()
    pmi = np.log(counts.data * total / (row_sums[counts.row] * row_sums[counts.col]))
    keep = pmi > 0
    shape = counts.shape
    return sp.csr_matrix((pmi[keep], (counts.row[keep], counts.col[keep])), shape=shape)


def ppmi_item_vectors(train: Sequences, n_items: int, dim: int, window: int) -> np.ndarray:
    """(V, dim) float32 ``U * sqrt(S)`` of the PPMI matrix's top-``dim`` SVD; row 0 zero.

    Items that never co-occur with another keep a zero vector; columns past the matrix's
    rank (a catalogue smaller than ``dim``) are zero. Deterministic whatever the machine's
    core count: the sparse solver starts from a seeded random vector, and the SVD runs on
    one BLAS thread, since a singular vector's sign, so the start, follows the order of the
    solver's sums (on 2 threads Beauty's table had other signs in 32 of its 64 columns).
    """
    ppmi = ppmi_matrix(train, n_items, window)
    vocab = n_items + 1
    rank = min(dim, vocab - 1)
    with threadpool_limits(limits=1, user_api="blas"):
        if vocab <= DENSE_SVD_MAX_ITEMS:
            left, values, _ = np.linalg.svd(ppmi.toarray())
            left, values = left[:, :rank], values[:rank]
        else:
            left, values, _ = svds(ppmi, k=rank, random_state=0)
    vectors = np.zeros((vocab, dim), dtype=np.float32)
    vectors[:, :rank] = left * np.sqrt(values)
    vectors[0] = 0.0
    return vectors
