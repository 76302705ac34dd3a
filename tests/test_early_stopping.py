"""Early stopping: the update after each validation and when patience is spent."""

from sasrec_utils.training.early_stopping import (
    BEST_VALID_KEY,
    VALID_COLUMN,
    Decision,
    early_stopping,
    patience_spent,
)


def test_a_sequence_of_validations_keeps_the_first_strict_maximum():
    best, stale, kept = -1.0, 0, []
    for value in [0.10, 0.12, 0.12, 0.11, 0.13, 0.09]:
        best, stale, improved = early_stopping(value, best, stale)
        kept.append((best, stale, improved))
    assert kept == [
        (0.10, 0, True),
        (0.12, 0, True),
        (0.12, 1, False),  # a tie is no improvement: the earlier epoch is kept
        (0.12, 2, False),
        (0.13, 0, True),
        (0.13, 1, False),
    ]


def test_patience_is_spent_after_that_many_validations_without_improvement():
    decision = early_stopping(0.05, best=0.2, stale=2)
    assert decision == Decision(best=0.2, stale=3, improved=False)
    assert not patience_spent(2, patience=3)
    assert patience_spent(decision.stale, patience=3)


def test_the_names_derive_from_the_one_metric():
    assert VALID_COLUMN == "valid_ndcg@10"  # the history column evaluate_model's key gives
    assert BEST_VALID_KEY == "best_valid_ndcg@10"  # training.json and the sasrec report
