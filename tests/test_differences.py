"""Every difference from the SASRec paper, its measured effect generated from the numbers."""

from sasrec_utils.config import SASRecConfig
from sasrec_utils.report import differences


def _bench(low: float, high: float, dataset: str = "ml-100k", trained_on: str = "train") -> dict:
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
    name = "sasrec - sasrec-bce" + ("" if trained_on == "train" else f" ({trained_on})")
    return {"dataset": dataset, "config": {}, "bootstrap": {name: pair}}


def test_sweep_effect_states_the_gap_and_the_noise():
    sweep = {"default": 0.1215, "mask_seen_in_loss=False": 0.1102, "n_heads=1": 0.1190}
    text = differences.sweep_effect("mask_seen_in_loss=False", sweep)
    assert text.startswith("+0.0113 for ours (0.1215 against 0.1102")  # 0.1215 - 0.1102
    assert "beyond the seed noise" in text
    assert "within the seed noise" in differences.sweep_effect("n_heads=1", sweep)  # 0.0025


def test_loss_effect_reads_the_bootstrap_and_says_whether_it_excludes_zero():
    cfg = SASRecConfig()
    text = differences.loss_effect(_bench(0.0120, 0.0265), cfg)
    assert "+0.0193 test NDCG@10" in text and "[+0.0120, +0.0265]" in text
    assert text.endswith("(excludes zero; held-out seeds, ml-100k, reports/benchmark.json)")
    assert "includes zero" in differences.loss_effect(_bench(-0.001, 0.04), cfg)
    assert differences.loss_effect(None, cfg) == (
        "not measured here: run `make bench` (reports/benchmark.json)"
    )
    elsewhere = differences.loss_effect(_bench(0.01, 0.02), SASRecConfig(dataset="ml-1m"))
    assert elsewhere.startswith("not measured on ml-1m: the benchmarks measure ml-100k")


def test_loss_effect_names_the_protocol_and_the_settings_the_file_ran():
    bench = _bench(0.0206, 0.0238, "amazon-beauty", "train+valid")
    bench["config"] = {"hidden_dim": 128, "refit_on_valid": True, "device": "cpu"}
    text = differences.loss_effect(bench, SASRecConfig(dataset="amazon-beauty", n_heads=1))
    assert "held-out seeds, amazon-beauty, reports/benchmark_beauty.json" in text
    assert "both trained on train+valid" in text
    # fields the file lacks are the defaults (n_heads 2); where and how it ran is not a setting
    differ = "hidden_dim 128 (this run: 64), n_heads 2 (this run: 1))"
    assert f"differs from this run's in {differ}" in text
    assert "device" not in text and "refit_on_valid True" not in text


def test_the_defaults_give_every_difference_a_row_and_unmeasured_ones_say_so():
    table = differences.paper_differences(SASRecConfig(), _bench(0.0120, 0.0265))
    assert list(table.columns) == ["what", "paper", "this run", "measured effect"]
    assert len(table) == len(differences.DIFFERENCES)  # no extension in the defaults
    effects = dict(zip(table["what"], table["measured effect"], strict=True))
    for what in ("feed-forward activation", "item embedding scale", "LayerNorm placement"):
        assert effects[what] == "not measured"
    assert effects["seen items in the loss"].startswith("+0.0113")
    assert effects["attention heads"].startswith("+0.0093")  # 0.1215 - 0.1122
    assert effects["batches"].startswith("+0.0060")  # 0.1215 - 0.1155
    ours = dict(zip(table["what"], table["this run"], strict=True))
    assert ours["attention heads"] == "2 heads of width D/2 (`n_heads=2`)"
    assert ours["width (D)"] == "64 (`hidden_dim`), the feed-forward layer as wide"
    assert effects["width (D)"] == "not measured"
    paper_width = differences.paper_differences(SASRecConfig(hidden_dim=50)).set_index("what")
    assert paper_width.loc["width (D)", "measured effect"] == differences.AS_THE_PAPER
    post = differences.paper_differences(SASRecConfig(layer_norm="post")).set_index("what")
    assert post.loc["item embedding scale", "this run"].startswith("no scale: LayerNorm")
    assert ours["batches"] == "at most 4,096 positions (users × window length), at most 256 users"


def test_rows_follow_the_run_config_and_its_extensions():
    cfg = SASRecConfig(
        n_heads=1,
        dropout=0.5,
        attention_dropout=0.5,
        train_examples="prefixes",
        frequency_mix=0.7,
        frequency_cutoff=3,
    )
    table = differences.paper_differences(cfg).set_index("what")
    assert table.loc["attention heads", "this run"].startswith("one head, as the paper")
    assert table.loc["attention heads", "measured effect"] == differences.AS_THE_PAPER
    assert "0.5 on the attention weights" in table.loc["dropout", "this run"]
    assert table.loc["dropout", "measured effect"] == differences.AS_THE_PAPER
    # the batch sweep ran one window per user: not this run's effect
    assert "prefixes × window length" in table.loc["batches", "this run"]
    assert table.loc["batches", "measured effect"] == "not measured"
    assert table.loc["loss", "measured effect"].startswith("not measured here: run `make bench`")
    assert len(table) == len(differences.DIFFERENCES) + 2
    assert "`train_examples='prefixes'`" in table.loc["training examples", "this run"]
    frequency = next(what for what in table.index if what.startswith("frequency filter"))
    assert "mixes 0.7 of a filter" in table.loc[frequency, "this run"]
    assert "with 0.3 of attention" in table.loc[frequency, "this run"]  # 1 - 0.7
    assert "own residual sum" not in table.loc[frequency, "this run"]


def test_bsarec_s_block_and_data_options_are_named_in_their_rows():
    from sasrec_utils.presets import preset_config

    table = differences.paper_differences(preset_config("shopping")).set_index("what")
    assert table.loc["width (D)", "this run"] == (
        "64 (`hidden_dim`), the feed-forward layer 4× as wide (`ffn_mult`)"
    )
    # no dropout inside the feed-forward layer: not the authors' code, so not "as the paper"
    assert "sub-layer outputs, and 0.5 on" in table.loc["dropout", "this run"]
    assert table.loc["dropout", "measured effect"] != differences.AS_THE_PAPER
    frequency = next(what for what in table.index if what.startswith("frequency filter"))
    assert "`frequency_norm='per_branch'`" in table.loc[frequency, "this run"]
    assert "(`empty_prefix`)" in table.loc["training examples", "this run"]
    assert table.loc["seen items in the loss", "this run"].startswith("every item is a candidate")
    start = next(what for what in table.index if what.startswith("item table started from"))
    assert "pairs within 6 events" in table.loc[start, "this run"]
    assert table.loc[start, "paper"] == "a random item table"


def test_a_sweep_row_is_quoted_only_for_the_setting_it_varied():
    table = differences.paper_differences(SASRecConfig(n_heads=4, hidden_dim=64)).set_index("what")
    assert table.loc["attention heads", "this run"] == "4 heads of width D/4 (`n_heads=4`)"
    assert table.loc["attention heads", "measured effect"] == "not measured"  # swept 2 against 1
    bce = differences.paper_differences(SASRecConfig(loss="bce")).set_index("what")
    assert bce.loc["loss", "measured effect"] == differences.AS_THE_PAPER
