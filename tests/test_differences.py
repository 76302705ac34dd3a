"""Every difference from the SASRec paper, its measured effect generated from the numbers."""

from sasrec_utils.report import differences


def _bench(low: float, high: float) -> dict:
    pair = {
        "difference": 0.0193,
        "difference_low": low,
        "difference_high": high,
        "lift": 0.213,
        "lift_low": 0.133,
        "lift_high": 0.297,
        "n_resamples": 10_000,
        "n_queries": 943,
    }
    return {"dataset": "ml-100k", "bootstrap": {"sasrec - sasrec-bce": pair}}


def test_sweep_effect_states_the_gap_and_the_noise():
    sweep = {"default": 0.1215, "mask_seen_in_loss=False": 0.1102, "n_heads=1": 0.1190}
    text = differences.sweep_effect("mask_seen_in_loss=False", sweep)
    assert text.startswith("+0.0113 for ours (0.1215 against 0.1102")  # 0.1215 - 0.1102
    assert "beyond the seed noise" in text
    assert "within the seed noise" in differences.sweep_effect("n_heads=1", sweep)  # 0.0025


def test_loss_effect_reads_the_bootstrap_and_says_whether_it_excludes_zero():
    text = differences.loss_effect(_bench(0.0120, 0.0265))
    assert "+0.0193 test NDCG@10" in text and "[+0.0120, +0.0265]" in text
    assert "excludes zero" in text
    assert "includes zero" in differences.loss_effect(_bench(-0.001, 0.04))
    assert differences.loss_effect(None).startswith("not measured")


def test_every_difference_has_a_row_and_unmeasured_ones_say_so():
    table = differences.paper_differences(_bench(0.0120, 0.0265))
    assert list(table.columns) == ["what", "paper", "this project", "measured effect"]
    assert len(table) == len(differences.DIFFERENCES)
    effects = dict(zip(table["what"], table["measured effect"], strict=True))
    for what in ("feed-forward activation", "item embedding scale", "LayerNorm placement"):
        assert effects[what] == "not measured"
    assert effects["seen items in the loss"].startswith("+0.0113")
    assert effects["attention heads"].startswith("+0.0093")  # 0.1215 - 0.1122
