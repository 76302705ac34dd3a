"""Recommender files: bundles and training checkpoints round-trip; damage is named."""

import numpy as np
import pandas as pd
import pytest
import torch

from sasrec_utils.model.sasrec import SASRec
from sasrec_utils.serving.recommend import PopularityFallbackWarning, Recommender
from sasrec_utils.training.checkpoint import (
    CHECKSUMS,
    FIELD_CHECKSUMS,
    CheckpointError,
    UnverifiedCheckpointWarning,
    load_checkpoint,
    save_checkpoint,
    with_checksums,
)

from .conftest import ITEM_IDS, N_ITEMS, POPULARITY


def save_restamped(state: dict, path) -> None:
    """Write an edited state with checksums that match it: a file a faulty writer made."""
    torch.save(with_checksums({k: v for k, v in state.items() if "sha256" not in k}), path)


def test_bundle_round_trip_gives_identical_results(rec, tmp_path):
    path = rec.save(tmp_path / "bundle.pt")
    assert load_checkpoint(path)["titles"][0] == "Film 101"  # plain data, weights_only
    loaded = Recommender.load(path)
    histories = [[101, 105, 103], [112], list(ITEM_IDS[:8])]
    pd.testing.assert_frame_equal(loaded.recommend_batch(histories), rec.recommend_batch(histories))
    np.testing.assert_array_equal(loaded.catalogue.popularity, POPULARITY)
    with pytest.warns(PopularityFallbackWarning):
        pd.testing.assert_frame_equal(loaded.recommend([]), rec.recommend([]))
    pd.testing.assert_frame_equal(loaded.similar_items(104), rec.similar_items(104))


def test_training_checkpoint_loads_with_metadata_given(rec, serving_cfg, serving_items, tmp_path):
    path = save_checkpoint(
        tmp_path / "best.pt", rec.model, serving_cfg, ITEM_IDS, epoch=3, history=[]
    )
    loaded = Recommender.load(
        path, items=serving_items[["item_id", "title"]], popularity=POPULARITY[1:]
    )
    assert loaded.catalogue.titles is not None and loaded.catalogue.genres is None
    np.testing.assert_array_equal(loaded.catalogue.popularity, POPULARITY)
    expected = rec.recommend([101, 102]).drop(columns="genres")
    pd.testing.assert_frame_equal(loaded.recommend([101, 102]), expected)


def test_missing_corrupt_truncated_and_mismatched_files_raise_clearly(rec, tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        Recommender.load(tmp_path / "absent.pt")
    (tmp_path / "garbage.pt").write_bytes(b"this is not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        Recommender.load(tmp_path / "garbage.pt")
    payload = rec.save(tmp_path / "bundle.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        Recommender.load(tmp_path / "cut.pt")
    state = load_checkpoint(tmp_path / "bundle.pt")
    save_restamped({**state, "titles": state["titles"][:-1]}, tmp_path / "titles.pt")
    with pytest.raises(CheckpointError, match=f"titles should be a list of {N_ITEMS}"):
        Recommender.load(tmp_path / "titles.pt")
    save_restamped({**state, "item_ids": state["item_ids"][:-1]}, tmp_path / "ids.pt")
    with pytest.raises(CheckpointError, match="item ids for"):
        Recommender.load(tmp_path / "ids.pt")
    save_restamped({**state, "bundle": "someone-else/9"}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="bundle format"):
        Recommender.load(tmp_path / "foreign.pt")


def test_failed_save_leaves_the_existing_bundle_unchanged(rec, tmp_path, monkeypatch):
    path = rec.save(tmp_path / "bundle.pt")
    before = path.read_bytes()

    def dies_mid_write(state, stream):
        stream.write(b"half a bundle")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dies_mid_write)
    with torch.no_grad():
        rec.model.item_emb.weight.add_(1.0)  # the bundle would differ if it were written
    with pytest.raises(OSError, match="disk full"):
        rec.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bundle.pt"]  # no temp file left


def overwrite_in_place(path, old: bytes, new: bytes) -> None:
    """Replace the first occurrence of ``old`` in the file by ``new`` (same length)."""
    payload = path.read_bytes()
    assert len(old) == len(new) and payload.count(old) == 1
    path.write_bytes(payload.replace(old, new))


def test_weights_changed_in_place_are_refused_by_checksum(rec, tmp_path):
    path = rec.save(tmp_path / "bundle.pt")
    table = rec.model.item_emb.weight.detach().numpy()
    overwrite_in_place(path, table[3].tobytes(), np.full(8, 0.5, np.float32).tobytes())
    # still a readable zip of finite weights: only the checksum tells
    damaged = torch.load(path, weights_only=True)["model_state"]["item_emb.weight"]
    assert torch.isfinite(damaged).all() and not torch.equal(damaged, rec.model.item_emb.weight)
    with pytest.raises(CheckpointError) as error:
        Recommender.load(path)
    message = str(error.value)
    assert message.startswith(f"{path}: damaged checkpoint: the bytes of 1 tensor(s) differ")
    assert "(model_state/item_emb.weight)" in message and "use another copy" in message


def test_files_without_checksums_load_with_a_warning_and_nan_weights_are_refused(rec, tmp_path):
    state = load_checkpoint(rec.save(tmp_path / "bundle.pt"))
    del state[CHECKSUMS], state[FIELD_CHECKSUMS]  # as written before checksums existed
    torch.save(state, tmp_path / "old.pt")
    with pytest.warns(UnverifiedCheckpointWarning, match="has no tensor checksums"):
        old = Recommender.load(tmp_path / "old.pt")
    pd.testing.assert_frame_equal(old.recommend([101, 105]), rec.recommend([101, 105]))
    table = rec.model.item_emb.weight.detach().numpy()
    overwrite_in_place(tmp_path / "old.pt", table[3].tobytes(), b"\xff" * 32)  # 8 NaNs
    with pytest.warns(UnverifiedCheckpointWarning), pytest.raises(CheckpointError) as error:
        Recommender.load(tmp_path / "old.pt")
    assert "weights hold NaN or inf in item_emb.weight" in str(error.value)


def test_nan_weights_are_never_written_over_a_file(rec, tmp_path):
    path = rec.save(tmp_path / "bundle.pt")
    before = path.read_bytes()
    with torch.no_grad():
        rec.model.blocks[0].attn.qkv.weight[0, 0] = float("nan")
    with pytest.raises(
        ValueError, match=r"weights hold NaN or inf in blocks\.0\.attn\.qkv\.weight"
    ):
        rec.save(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("field", ["config", "n_items", "item_ids", "model_state"])
@pytest.mark.parametrize("damage", ["missing", "None"])
def test_damaged_fields_raise_one_clear_error(rec, tmp_path, field, damage):
    state = load_checkpoint(rec.save(tmp_path / "bundle.pt"))
    if damage == "missing":
        del state[field]
    else:
        state[field] = None
    torch.save(state, tmp_path / "damaged.pt")
    says = f"field {field!r} is missing" if damage == "missing" else f"field {field!r} should be a"
    with pytest.raises(CheckpointError, match=f"damaged checkpoint: {says}"):
        Recommender.load(tmp_path / "damaged.pt")


def test_invalid_config_and_weight_entries_are_named(rec, tmp_path):
    state = load_checkpoint(rec.save(tmp_path / "bundle.pt"))
    save_restamped({**state, "config": {**state["config"], "lr": -1}}, tmp_path / "config.pt")
    with pytest.raises(CheckpointError, match=r"field 'config' is invalid \(lr must be"):
        Recommender.load(tmp_path / "config.pt")
    weights = {**state["model_state"], "ln_final.bias": None}
    save_restamped({**state, "model_state": weights}, tmp_path / "weights.pt")
    with pytest.raises(CheckpointError, match=r"not tensors: \['ln_final.bias'\]"):
        Recommender.load(tmp_path / "weights.pt")


# ------------------------------------------------------------------ ids and every field checked

HASHED = np.array([2**53 + 1, 2**53 + 3, 2**64 - 1], dtype=np.uint64)  # float64 rounds these
MIXED = np.array([7003, "7003", "sku-9"], dtype=object)


@pytest.mark.parametrize("item_ids", [HASHED, MIXED], ids=["uint64", "mixed"])
def test_ids_come_back_with_their_value_and_type(serving_cfg, tmp_path, item_ids):
    torch.manual_seed(0)
    model = SASRec(3, serving_cfg)
    popularity = np.array([0, 3, 2, 1])
    original = Recommender.from_training(model, serving_cfg, item_ids, popularity=popularity)
    bundle = Recommender.load(original.save(tmp_path / "bundle.pt"))
    best = Recommender.load(save_checkpoint(tmp_path / "best.pt", model, serving_cfg, item_ids))
    for loaded in (bundle, best):
        assert loaded.catalogue.item_ids.dtype == item_ids.dtype
        assert [type(i) for i in loaded.catalogue.item_ids.tolist()] == [
            type(i) for i in item_ids.tolist()
        ]
        assert loaded.catalogue.item_ids.tolist() == item_ids.tolist()
        history = item_ids[:2].tolist()
        expected = original.recommend(history, k=1)
        pd.testing.assert_frame_equal(loaded.recommend(history, k=1), expected)  # no fallback
        assert expected["item_id"].tolist() == [item_ids[2]]


def rewrite_field(path, name, value) -> None:
    """Change one field of a saved file, keeping its old checksums (damage or an edit)."""
    state = torch.load(path, weights_only=True)
    state[name] = value
    torch.save(state, path)


FIELD_DIFFERS = "field(s) {} differ from the checksums written with them"


@pytest.mark.parametrize(
    ("name", "change", "says"),
    [
        ("item_ids", lambda ids: [*ids[:3], 999, *ids[4:]], FIELD_DIFFERS.format("'item_ids'")),
        ("titles", lambda titles: ["Film X", *titles[1:]], FIELD_DIFFERS.format("'titles'")),
        ("config", lambda cfg: {**cfg, "max_len": 4}, FIELD_DIFFERS.format("'config'")),
        ("popularity", lambda counts: counts.flip(0), "1 tensor(s) differ from the checksums"),
    ],
)
def test_a_changed_field_is_refused_by_its_checksum(rec, tmp_path, name, change, says):
    path = rec.save(tmp_path / "bundle.pt")
    rewrite_field(path, name, change(torch.load(path, weights_only=True)[name]))
    with pytest.raises(CheckpointError) as error:
        Recommender.load(path)
    assert str(error.value).startswith(f"{path}: damaged checkpoint: ")
    assert says in str(error.value) and name in str(error.value)


def test_an_unchanged_rewrite_loads(rec, tmp_path):
    path = rec.save(tmp_path / "bundle.pt")
    rewrite_field(path, "item_ids", list(torch.load(path, weights_only=True)["item_ids"]))
    pd.testing.assert_frame_equal(Recommender.load(path).recommend([101]), rec.recommend([101]))


def test_files_of_the_previous_format_load_with_what_they_can_check(rec, tmp_path):
    state = load_checkpoint(rec.save(tmp_path / "bundle.pt"))
    del state[FIELD_CHECKSUMS]  # tensor checksums only, as written before field checksums
    torch.save(state, tmp_path / "previous.pt")
    with pytest.warns(UnverifiedCheckpointWarning, match="item ids, titles, popularity"):
        previous = Recommender.load(tmp_path / "previous.pt")
    pd.testing.assert_frame_equal(previous.recommend([101, 105]), rec.recommend([101, 105]))
