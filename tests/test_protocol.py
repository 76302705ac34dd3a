"""What each row was trained on, and tables that refuse to mix protocols."""

import pytest

from sasrec_utils.config import SASRecConfig
from sasrec_utils.report import shopping
from sasrec_utils.report.protocol import (
    TRAIN,
    TRAIN_VALID,
    rows_trained_on,
    same_protocol,
    trained_on,
)
from sasrec_utils.report.published import PUBLISHED, published_table


def test_refit_on_valid_decides_what_the_weights_trained_on():
    assert trained_on(SASRecConfig()) == "train"
    assert trained_on(SASRecConfig(refit_on_valid=True)) == "train+valid"


def test_rows_of_one_protocol_pass_and_a_mix_is_refused_by_name():
    rows = [{"model": "a", "trained_on": TRAIN}, {"model": "b", "trained_on": TRAIN}]
    assert same_protocol(rows, "t") == TRAIN
    mixed = [*rows, {"model": "ours, refit", "trained_on": TRAIN_VALID}]
    with pytest.raises(ValueError, match="ours, refit: train\\+valid"):
        same_protocol(mixed, "t")
    with pytest.raises(ValueError, match="c: None"):
        same_protocol([*rows, {"model": "c"}], "t")
    assert rows_trained_on(mixed, TRAIN_VALID) == [mixed[2]]


def test_every_published_figure_says_it_trained_on_training_items_only():
    assert {row["trained_on"] for row in PUBLISHED} == {TRAIN}
    assert {row["trained_on"] for row in shopping.PUBLISHED_BEAUTY} == {TRAIN}


def test_the_published_table_takes_our_row_only_under_the_same_protocol():
    ours = {"model": "ours", "trained_on": TRAIN, "hr@10": 0.5, "ndcg@10": 0.3}
    table = published_table(ours)
    assert table["trained on"].tolist() == [TRAIN] * (len(PUBLISHED) + 1)
    with pytest.raises(ValueError, match="different protocols"):
        published_table({**ours, "trained_on": TRAIN_VALID})


def _beauty(summaries):
    return {"summaries": summaries, "config": {"loss": "ce"}}


def test_the_shopping_table_sets_only_a_papers_protocol_row_beside_the_papers():
    refit = {"system": "sasrec", "role": "held-out", "trained_on": TRAIN_VALID, "seeds": [100]}
    papers = {**refit, "trained_on": TRAIN, "ndcg@10": 0.05, "hr@10": 0.08}
    with pytest.raises(KeyError, match="trained on 'train'"):
        shopping.published_beside_ours(_beauty([{**refit, "ndcg@10": 0.06, "hr@10": 0.1}]))
    table = shopping.published_beside_ours(_beauty([{**refit, "ndcg@10": 0.06}, papers]))
    assert table["ndcg@10"].iloc[-1] == 0.05
    assert set(table["trained on"]) == {TRAIN}
