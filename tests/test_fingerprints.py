"""Fingerprints: a reader shows a file's figures only beside the data, settings and
checkpoint they describe."""

import hashlib

import numpy as np
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.model.sasrec import SASRec
from sasrec_utils.report.fingerprints import config_sha256, describes, mismatch
from sasrec_utils.training.checkpoint import save_checkpoint, weights_sha256

TINY = SASRecConfig(max_len=4, hidden_dim=8, n_heads=1, n_layers=1, device="cpu")


def checkpoint(path, seed: int, seconds: float = 1.0):
    """A checkpoint of a model initialised with ``seed``, saved with a training time."""
    torch.manual_seed(seed)
    model = SASRec(5, TINY)
    history = [{"epoch": 1, "seconds": seconds}]
    return save_checkpoint(path, model, TINY, np.arange(1, 6), history=history)


def test_identical_weights_hash_identically_whatever_the_training_took(tmp_path):
    first = checkpoint(tmp_path / "a.pt", seed=0, seconds=41.2)
    again = checkpoint(tmp_path / "b.pt", seed=0, seconds=51.7)  # a rerun, slower
    assert (
        hashlib.sha256(first.read_bytes()).digest() != hashlib.sha256(again.read_bytes()).digest()
    )
    assert weights_sha256(first) == weights_sha256(again)
    assert weights_sha256(first) != weights_sha256(checkpoint(tmp_path / "c.pt", seed=1))


def test_fingerprint_matches_only_the_same_data_settings_and_checkpoint(tmp_path):
    served, other = checkpoint(tmp_path / "best.pt", 42), checkpoint(tmp_path / "other.pt", 7)
    cfg = SASRecConfig()
    stored = describes("d" * 64, cfg, [served, other])
    assert stored["checkpoints_sha256"] == [weights_sha256(served), weights_sha256(other)]
    assert mismatch(stored, "d" * 64, cfg, served) is None
    assert mismatch(stored, "d" * 64, cfg.replace(seed=43, device="cpu"), served) is None
    assert mismatch(stored, "e" * 64, cfg, served) == "it was measured on other data"
    assert mismatch(stored, "d" * 64, cfg.replace(epochs=2), served) == (
        "it was measured with other settings"
    )
    retrained = checkpoint(tmp_path / "retrained.pt", 3)
    assert mismatch(stored, "d" * 64, cfg, retrained) == (
        "it did not measure retrained.pt (another training run)"
    )
    assert mismatch({}, "d" * 64, cfg, served) == "it was measured on other data"  # old file


def test_config_fingerprint_leaves_out_seed_and_device_only():
    cfg = SASRecConfig()
    assert config_sha256(cfg) == config_sha256(cfg.replace(seed=1, device="cpu"))
    assert config_sha256(cfg) != config_sha256(cfg.replace(dropout=0.3))
