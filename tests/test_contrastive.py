"""The contrastive auxiliary loss (CL4SRec / DuoRec style): InfoNCE by hand, masking, wiring."""

import math

import numpy as np
import pytest
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.model.contrastive import WithContrastive, info_nce
from sasrec_utils.model.losses import FullCrossEntropy, build_loss
from sasrec_utils.model.sasrec import SASRec

from .conftest import cycle_events


def test_info_nce_by_hand_for_two_histories():
    first = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    second = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    none = torch.zeros(2, 2, dtype=torch.bool)
    # row 0 (first[0]): candidates first[1]=0, second[0]=1 (twin), second[1]=0
    row0 = -1 + math.log(math.exp(0) + math.exp(1) + math.exp(0))
    # row 1 (first[1]): first[0]=0, second[0]=0, second[1]=2 (twin)
    row1 = -2 + math.log(1 + 1 + math.exp(2))
    # row 2 (second[0]): first[0]=1 (twin), first[1]=0, second[1]=0
    row2 = -1 + math.log(math.exp(1) + 1 + 1)
    # row 3 (second[1]): first[0]=0, first[1]=2 (twin), second[0]=0
    row3 = -2 + math.log(1 + math.exp(2) + 1)
    expected = (row0 + row1 + row2 + row3) / 4
    assert info_nce(first, second, none, 1.0).item() == pytest.approx(expected, rel=1e-6)


def test_identical_histories_are_not_each_others_negatives():
    first = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    second = first.clone()
    same = torch.ones(2, 2, dtype=torch.bool)
    # with the other (identical) history masked, each view has only its twin: loss 0
    assert info_nce(first, second, same, 0.5).item() == pytest.approx(0.0, abs=1e-6)
    assert info_nce(first, second, torch.eye(2, dtype=torch.bool), 0.5).item() > 0.5


def test_the_config_adds_the_term_to_the_loss_it_names():
    split = leave_one_out_split(build_sequences(cycle_events(n_users=6, n_items=9, length=6)))
    cfg = SASRecConfig(max_len=4, hidden_dim=8, dropout=0.0, contrastive_weight=0.5)
    loss = build_loss(cfg, split, torch.device("cpu"))
    assert isinstance(loss, WithContrastive) and isinstance(loss.base, FullCrossEntropy)
    assert not isinstance(
        build_loss(cfg.replace(contrastive_weight=0.0), split, "cpu"), WithContrastive
    )
    torch.manual_seed(0)
    model = SASRec(split.n_items, cfg)
    inputs = torch.tensor(np.array([[0, 1, 2, 3], [4, 5, 6, 7]]))
    targets = torch.tensor(np.array([[0, 2, 3, 4], [5, 6, 7, 8]]))
    vectors = model.user_vectors(inputs)  # no dropout: both views are these
    same = torch.eye(2, dtype=torch.bool)
    expected = loss.base(model, inputs, targets) + 0.5 * info_nce(vectors, vectors, same, 1.0)
    assert loss(model, inputs, targets).item() == pytest.approx(expected.item(), rel=1e-5)


def test_a_temperature_of_zero_is_refused_by_name():
    with pytest.raises(ValueError, match="contrastive_temperature must be a number > 0"):
        SASRecConfig(contrastive_temperature=0.0)
