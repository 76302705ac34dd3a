"""The final model: a refit on training + validation items for the chosen epochs."""

import torch

from sasrec_utils.data.prepared import PreparedData
from sasrec_utils.data.sequences import build_sequences
from sasrec_utils.data.splits import leave_one_out_split
from sasrec_utils.training.checkpoint import load_checkpoint
from sasrec_utils.training.final_model import refit, train_final
from sasrec_utils.training.loop import fit

from .conftest import cycle_events


def cycle_split():
    data = build_sequences(cycle_events(n_users=40, n_items=12, length=10))
    return data, leave_one_out_split(data)


def test_refit_trains_on_validation_items_for_the_given_epochs(tiny_cfg, tmp_path):
    data, split = cycle_split()
    prepared = PreparedData(data, split)
    first = fit(tiny_cfg, prepared, out_dir=tmp_path, progress=False)
    last_before = (tmp_path / "last.pt").read_bytes()
    final = refit(tiny_cfg, prepared, epochs=3, out_dir=tmp_path, progress=False)
    assert final.history["epoch"].tolist() == [1, 2, 3]
    assert "valid_ndcg@10" not in final.history  # nothing held out to validate on
    assert (tmp_path / "last.pt").read_bytes() == last_before  # fit's files untouched
    saved = load_checkpoint(tmp_path / "final.pt")
    assert saved["epoch"] == 3 and saved["config"]["epochs"] == 3
    for name, tensor in final.model.state_dict().items():  # the last epoch's weights
        assert torch.equal(saved["model_state"][name], tensor)
    assert not torch.equal(final.model.item_matrix(), first.model.item_matrix())


def test_train_final_refits_only_when_asked(tiny_cfg):
    data, split = cycle_split()
    prepared = PreparedData(data, split)
    plain = train_final(tiny_cfg, prepared, progress=False)
    assert plain.refitted is None and plain.model is plain.selected.model
    refitted = train_final(tiny_cfg.replace(refit_on_valid=True), prepared, progress=False)
    assert refitted.refitted.history["epoch"].max() == refitted.selected.best_epoch
    assert refitted.model is refitted.refitted.model
    expected = refitted.selected.train_seconds + refitted.refitted.train_seconds
    assert refitted.train_seconds == expected
