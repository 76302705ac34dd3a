"""Item vectors from co-occurrence (``model.item_init``): hand-computed PPMI, the vectors it
gives, and the item table a model starts from with ``ppmi_init_window``."""

import math

import numpy as np
import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.sequences import build_sequences, pair_counts
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.model import item_init
from sasrec_utils.model.item_init import ppmi_item_vectors, ppmi_matrix
from sasrec_utils.training import distributed
from sasrec_utils.training.optimizers import build_training

from .conftest import cycle_events, sequences_from_lists

# items 1-2 and 3-4 go together three times each; 1 and 3 meet once, less than chance
TWO_PAIRS = [[1, 2]] * 3 + [[3, 4]] * 3 + [[1, 3]]


def test_pair_counts_count_each_later_item_within_the_window():
    seqs = sequences_from_lists([[1, 2, 3], [2, 1]])
    one = pair_counts(seqs, n_items=3, window=1).toarray()
    two = pair_counts(seqs, n_items=3, window=2).toarray()
    assert one[1, 2] == one[2, 3] == one[2, 1] == 1
    assert one.sum() == 3  # never across rows (3 of row 0 then 2 of row 1)
    assert two[1, 3] == 1 and two.sum() == 4
    assert one[0].sum() == one[:, 0].sum() == 0  # padding


def test_ppmi_matrix_by_hand():
    # symmetric counts C12 = C34 = 3, C13 = 1; total 14; row sums 4, 3, 4, 3
    ppmi = ppmi_matrix(sequences_from_lists(TWO_PAIRS), n_items=4, window=1).toarray()
    assert ppmi[1, 2] == pytest.approx(math.log(3 * 14 / (4 * 3)))  # log 3.5
    assert ppmi[3, 4] == ppmi[4, 3] == ppmi[2, 1]
    assert ppmi[1, 3] == ppmi[3, 1] == 0.0  # log(14 / 16) < 0: dropped
    assert ppmi[2, 4] == 0.0 and ppmi[1, 1] == 0.0  # never together
    assert ppmi[0].sum() == 0.0


def test_items_with_the_same_companions_get_the_same_vector():
    # 1 and 2 each go with 3 and with 4; 5 goes with 6 only
    rows = [[1, 3], [2, 3], [1, 4], [2, 4]] * 2 + [[5, 6]] * 2
    seqs = sequences_from_lists(rows)
    vectors = ppmi_item_vectors(seqs, n_items=6, dim=8, window=1)
    assert vectors.shape == (7, 8) and vectors.dtype == np.float32
    assert not vectors[0].any()
    np.testing.assert_allclose(vectors[1], vectors[2], atol=1e-6)
    np.testing.assert_allclose(vectors[3], vectors[4], atol=1e-6)
    assert np.linalg.norm(vectors[1]) > 0.1
    assert abs(vectors[1] @ vectors[5]) < 1e-6  # nothing in common
    # every singular value kept: (U sqrt(S)) (U sqrt(S))^T squared is PPMI PPMI^T
    gram = vectors.astype(np.float64) @ vectors.T
    ppmi = ppmi_matrix(seqs, n_items=6, window=1).toarray()
    np.testing.assert_allclose(gram @ gram, ppmi @ ppmi.T, atol=1e-5)
    assert not vectors[:, 7].any()  # past the catalogue's 7 rows: zero


def test_sparse_and_dense_svd_agree(monkeypatch):
    seqs = sequences_from_lists([[1, 2, 3, 4], [2, 3, 5], [5, 6, 1], [6, 4, 2, 1]] * 3)
    dense = ppmi_item_vectors(seqs, n_items=6, dim=3, window=2)
    monkeypatch.setattr(item_init, "DENSE_SVD_MAX_ITEMS", 0)
    sparse = ppmi_item_vectors(seqs, n_items=6, dim=3, window=2)
    # the same subspace and scale (signs of singular vectors are arbitrary)
    np.testing.assert_allclose(dense @ dense.T, sparse @ sparse.T, atol=1e-5)


@pytest.mark.parametrize("n_items", [6, item_init.DENSE_SVD_MAX_ITEMS + 5])
def test_the_svd_runs_on_one_blas_thread_whatever_the_caller_allows(monkeypatch, n_items):
    # a singular vector's sign follows the order of the solver's sums: on 2 BLAS threads
    # Amazon Beauty's start had other signs in 32 of its 64 columns than on 1
    from threadpoolctl import threadpool_info, threadpool_limits

    threads_seen = []

    def recording(svd):
        def run(*args, **kwargs):
            pools = threadpool_info()
            threads_seen.extend(p["num_threads"] for p in pools if p["user_api"] == "blas")
            return svd(*args, **kwargs)

        return run

    monkeypatch.setattr(item_init.np.linalg, "svd", recording(np.linalg.svd))
    monkeypatch.setattr(item_init, "svds", recording(item_init.svds))
    seqs = sequences_from_lists([[1, 2, 3], [n_items - 2, n_items - 1, n_items]] * 2)
    with threadpool_limits(limits=2, user_api="blas"):
        ppmi_item_vectors(seqs, n_items=n_items, dim=2, window=1)
    assert threads_seen and set(threads_seen) == {1}


def test_model_starts_from_the_vectors_and_only_when_asked():
    split = leave_one_out_split(build_sequences(cycle_events(n_users=20, n_items=30, length=8)))
    cfg = SASRecConfig(max_len=4, hidden_dim=8, n_layers=1, n_heads=1, device="cpu")
    cpu, ctx = torch.device("cpu"), distributed.Context()
    torch.manual_seed(0)
    random_table = build_training(cfg, split, cpu, ctx).model.item_emb.weight.detach()
    torch.manual_seed(0)
    model = build_training(cfg.replace(ppmi_init_window=2), split, cpu, ctx).model
    table = model.item_emb.weight.detach().numpy()
    vectors = ppmi_item_vectors(split.train, split.n_items, 8, 2)[1:]
    centred = vectors - vectors.mean(axis=0)
    # centred and rescaled to the random init's spread: a multiple of the vectors
    scale = table[1:].std() / centred.std()
    np.testing.assert_allclose(table[1:], centred * scale, rtol=1e-4, atol=1e-6)
    assert table[1:].std() == pytest.approx(random_table[1:].numpy().std(), rel=1e-4)
    assert not np.allclose(table, random_table.numpy())
    assert not table[0].any()


def test_config_refuses_a_negative_window_and_a_second_start():
    with pytest.raises(ValueError, match="ppmi_init_window must be an integer >= 0"):
        SASRecConfig(ppmi_init_window=-1)
    with pytest.raises(ValueError, match="ppmi_init_window=3 and embeddings_path"):
        SASRecConfig(ppmi_init_window=3, embeddings_path="vectors.parquet")


def test_histories_without_a_pair_are_refused_by_name():
    with pytest.raises(ValueError, match=r"no two items within 2 events.*ppmi_init_window=0"):
        ppmi_matrix(sequences_from_lists([[1], [2], [3]]), n_items=3, window=2)
