"""Figures: the right data on titled, labelled axes, at the modest dpi the reports need."""

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sasrec_utils.config import SASRecConfig
from sasrec_utils.evaluation import BootstrapPair
from sasrec_utils.report import plots, plots_attention, plots_results

matplotlib.use("Agg")


def _labelled(fig) -> None:
    """Every axes with data has a title and both axis labels."""
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        assert ax.get_title() or fig._suptitle is not None
        assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_causal_mask_shows_lower_triangle():
    fig = plots.causal_mask_figure(5)
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_array_equal(image, np.tril(np.ones((5, 5))))
    _labelled(fig)


def test_attention_figure_shortens_labels_and_checks_shapes():
    weights = np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None]
    labels = ["A very long film title that goes on and on (1999)", "B", "C"]
    fig = plots_attention.attention_figure(weights, labels, title="t")
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[1:] == ["B", "C"]
    assert len(ticks[0]) == plots.LABEL_CHARS and ticks[0].endswith("…")
    _labelled(fig)
    with pytest.raises(ValueError, match="one key label per column"):
        plots_attention.attention_figure(weights, ["A", "B"])


def test_sequence_length_figure_reports_share_cut_by_max_len():
    lengths = np.array([5] * 75 + [500] * 25)
    fig = plots.sequence_length_figure(lengths, max_len=200)
    assert "25% of users are cut" in _texts(fig)
    assert "median 5" in fig.axes[0].get_title()
    _labelled(fig)


def test_popularity_figure_annotates_top_decile_share():
    counts = np.array([91] + [1] * 9)  # top 10% of items (one item) = 91% of events
    fig = plots.popularity_figure(counts)
    assert "top 10% of items = 91% of events" in _texts(fig)
    _labelled(fig)


@pytest.mark.parametrize("scale", [1, 1000, 1_000_000, 1_000_000_000])
def test_to_datetime_guesses_the_unit(scale):
    seconds = np.array([1_672_531_200, 1_672_617_600])  # 2023-01-01 and 2023-01-02
    moments = plots.to_datetime(seconds * scale)
    assert [str(m.date()) for m in moments] == ["2023-01-01", "2023-01-02"]


def test_events_over_time_uses_days_for_short_logs():
    seconds = 1_672_531_200 + np.arange(0, 20 * 86400, 3600)  # 20 days, hourly
    fig = plots.events_over_time_figure(seconds)
    assert fig.axes[0].get_ylabel() == "events per day"
    assert len(fig.axes[0].patches) == 20


def test_training_curves_mark_the_best_epoch():
    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "train_loss": [7.0, 6.5, 6.2],
            "valid_ndcg@10": [0.02, 0.05, 0.04],
            "valid_hr@10": [0.05, 0.09, 0.08],
        }
    )
    fig = plots_results.training_curves_figure(history, 2)
    right = fig.axes[1]
    assert right.get_lines()[0].get_ydata().tolist() == [0.02, 0.05, 0.04]
    assert "kept: epoch 2" in _texts(fig)
    _labelled(fig)
    other = history.assign(train_loss=[7.1, 6.9, 6.8], **{"valid_ndcg@10": [0.01, 0.02, 0.03]})
    both = plots_results.training_curves_figure({1: history, 2: other}, {1: 2, 2: 3})
    assert [t.get_text() for t in both.axes[0].get_legend().get_texts()] == ["seed 1", "seed 2"]
    assert "kept: epoch 2" in _texts(both) and "kept: epoch 3" in _texts(both)


def test_comparison_figure_has_one_bar_per_system_and_metric():
    table = pd.DataFrame(
        {"hr@10": [0.17, 0.08, 0.01], "ndcg@10": [0.09, 0.04, 0.003], "ndcg@10 sd": [0.01, 0, 0]},
        index=["SASRec", "most-popular", "random"],
    )
    fig = plots_results.comparison_figure(table, metrics=("ndcg@10", "hr@10"))
    widths = sorted(round(p.get_width(), 3) for ax in fig.axes for p in ax.patches)
    assert widths == sorted([0.17, 0.08, 0.01, 0.09, 0.04, 0.003])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == "SASRec"  # best on top
    _labelled(fig)


def test_comparison_figure_draws_no_sd_and_each_bootstrap_interval():
    table = pd.DataFrame(
        {"hr@10": [0.2, 0.18], "ndcg@10": [0.11, 0.10], "ndcg@10 sd": [0.007, 0.0]},
        index=["SASRec", "cooccurrence"],
    )
    pair = BootstrapPair(
        "SASRec", "cooccurrence", 0.0085, -0.0047, 0.022, 0.083, -0.04, 0.2, 10_000, 943
    )
    fig = plots_results.comparison_figure(table, pairs=[pair])
    assert len(fig.axes) == 3
    bars, _, difference = fig.axes
    assert not bars.lines and not bars.collections  # no sd lines on the bars
    assert "+0.0085 [-0.0047, +0.0220]" in " ".join(t.get_text() for t in difference.texts)
    assert difference.get_yticklabels()[0].get_text() == "SASRec\n− cooccurrence"
    _labelled(fig)


def test_interval_labels_stay_inside_the_difference_panel():
    # a negative difference near the panel's left edge: its label once ran over the ticks
    table = pd.DataFrame(
        {"hr@10": [0.098, 0.092], "ndcg@10": [0.059, 0.0555]}, index=["ensemble", "SASRec"]
    )
    pairs = [
        BootstrapPair("SASRec", "markov", 0.0079, 0.0064, 0.0094, 0.16, 0.13, 0.2, 1000, 9),
        BootstrapPair(
            "SASRec", "ensemble", -0.0035, -0.0041, -0.0029, -0.06, -0.07, -0.05, 1000, 9
        ),
    ]
    fig = plots_results.comparison_figure(table, pairs=pairs)
    renderer = FigureCanvasAgg(fig).get_renderer()
    panel = fig.axes[-1].get_window_extent(renderer)
    for text in fig.axes[-1].texts:
        box = text.get_window_extent(renderer)
        assert panel.x0 <= box.x0 and box.x1 <= panel.x1, text.get_text()


def test_session_figure_has_one_line_per_system():
    table = pd.DataFrame(
        {
            "items_seen": ["1", "1", "all", "all"],
            "system": ["SASRec", "markov"] * 2,
            "ndcg@10": [0.05, 0.06, 0.11, 0.10],
        }
    )
    fig = plots_results.session_figure(table)
    ax = fig.axes[0]
    ydata = [list(np.asarray(line.get_ydata(), dtype=float)) for line in ax.get_lines()]
    # last-n points joined per system; the whole history apart (it masks all of it)
    assert ydata[:4] == [[0.05], [0.11], [0.06], [0.10]]
    assert [t.get_text() for t in ax.get_xticklabels()][-1].startswith("whole history")
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["SASRec", "markov"]
    assert legend.get_bbox_to_anchor().x0 >= ax.get_window_extent().x1  # outside: hides nothing
    _labelled(fig)


def test_bucket_figure_labels_buckets_with_user_counts():
    frame = pd.DataFrame(
        {
            "bucket": ["3–9", "3–9", "10–40", "10–40"],
            "users": [12, 12, 7, 7],
            "system": ["SASRec", "random", "SASRec", "random"],
            "ndcg@10": [0.1, 0.01, 0.2, 0.02],
        }
    )
    fig = plots_results.bucket_figure(frame)
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["3–9\n(12 users)", "10–40\n(7 users)"]
    _labelled(fig)


def test_sampled_vs_full_figure_shows_both_protocols():
    frame = pd.DataFrame(
        {"hr@10": [0.17, 0.006], "sampled_hr@10": [0.6, 0.1]}, index=["SASRec", "random"]
    )
    fig = plots_results.sampled_vs_full_figure(frame)
    heights = [round(p.get_height(), 3) for p in fig.axes[0].patches]
    assert heights == [0.17, 0.006, 0.6, 0.1]
    _labelled(fig)


def test_explanation_figure_uses_titles_or_ids():
    frame = pd.DataFrame({"item_id": ["a", "b"], "weight": [0.3, 0.7], "score_drop": [-0.1, 0.4]})
    fig = plots_results.explanation_figure(frame)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]
    assert [p.get_width() for p in fig.axes[1].patches] == [-0.1, 0.4]
    _labelled(fig)


def test_latency_figure_marks_percentiles_and_png_is_small():
    fig = plots_results.latency_figure(np.arange(1, 101, dtype=float))
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert labels == ["p50 = 50.50 ms", "p95 = 95.05 ms"]
    assert fig.dpi == plots.DPI
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.tell() < 100_000  # modest dpi keeps reports/ small


def test_save_figure_writes_a_png_atomically(tmp_path):
    path = plots.save_figure(plots.causal_mask_figure(3), tmp_path / "mask.png")
    assert path.read_bytes().startswith(b"\x89PNG") and oct(path.stat().st_mode)[-3:] == "644"
    assert [p.name for p in tmp_path.iterdir()] == ["mask.png"]  # no temporary file left


def test_attention_grid_shares_one_scale_and_blanks_the_future():
    weights = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])  # older, item a, item b
    fig = plots_attention.attention_grid_figure(
        [(weights, ["a", "b"], "untrained"), (weights / 2, ["a", "b"], "trained")]
    )
    maps = [ax for ax in fig.axes if ax.get_title() in ("untrained", "trained")]
    first = np.ma.getdata(maps[0].collections[0].get_array()).reshape(2, 3)
    assert np.isnan(first[0, 2]) and first[1, 2] == 0.5  # query a cannot see b
    assert [t.get_text() for t in maps[0].get_xticklabels()] == ["older items", "a", "b"]
    scales = {ax.collections[0].norm.vmax for ax in maps}
    assert scales == {0.5}  # one colour scale for both maps
    left, right = maps
    assert left.get_xlabel() and left.get_ylabel() and right.get_xlabel()
    # the right panel shows the same items: no second y label or names running into the left
    assert right.get_ylabel() == "" and not any(t.get_text() for t in right.get_yticklabels())


def test_attention_grid_labels_only_the_outer_panels():
    weights = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    panels = [(weights, ["a", "b"], f"panel {i}") for i in range(3)] + [
        (weights, ["c", "d"], "panel 3")
    ]
    fig = plots_attention.attention_grid_figure(panels)
    maps = {ax.get_title(): ax for ax in fig.axes if ax.get_title().startswith("panel")}
    assert [bool(maps[f"panel {i}"].get_xlabel()) for i in range(4)] == [False, False, True, True]
    assert [bool(maps[f"panel {i}"].get_ylabel()) for i in range(4)] == [True, False, True, False]
    names = [t.get_text() for t in maps["panel 3"].get_yticklabels()]
    assert names == ["c", "d"]  # other items than its left neighbour: named


def test_distance_and_diagram_figures_are_labelled():
    frame = pd.DataFrame(
        {"distance": [0, 1], "mean_weight": [0.3, 0.1], "uniform": [0.2, 0.2], "users": [9, 9]}
    )
    fig = plots_attention.attention_distance_figure(frame)
    assert fig.axes[0].get_lines()[0].get_ydata().tolist() == [0.3, 0.1]
    _labelled(fig)
    diagram = plots_attention.model_diagram_figure(SASRecConfig(n_layers=3, max_len=50))
    texts = [t.get_text() for t in diagram.axes[0].texts]
    assert "3 ×" in texts
    shapes = [t for t in texts if t.startswith("(B")]
    assert shapes == ["(B, L)", *["(B, L, D)"] * 4, "(B, L, V)"]  # symbolic, all of them
    assert "L ≤ 50 positions, D = 64" in diagram.axes[0].get_title()
    # the "3 ×" frame holds both sub-layers: the attention and the feed-forward box
    frame = max(diagram.axes[0].patches[:1], key=lambda p: p.get_height())
    inside = [
        t
        for t in diagram.axes[0].texts
        if frame.get_y() < t.get_position()[1] < frame.get_y() + frame.get_height()
    ]
    assert any("self-attention" in t.get_text() for t in inside)
    assert any("feed-forward" in t.get_text() for t in inside)


def test_coherence_figure_marks_both_thresholds():
    frame = pd.DataFrame(
        {
            "sessions": ["real"] * 20 + ["random"] * 20,
            "score": np.linspace(0, 1, 40),
            "lift": np.linspace(-0.2, 0.6, 40),
        }
    )
    fig = plots_results.coherence_figure(frame, medium=0.1, high=0.3)
    marks = [line.get_xdata()[0] for line in fig.axes[1].get_lines()]
    assert marks[-2:] == [0.1, 0.3]
    _labelled(fig)
