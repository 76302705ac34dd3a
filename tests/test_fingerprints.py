"""Fingerprints: a reader shows a file's figures only beside the data, settings and
checkpoint they describe."""

from sasrec_utils.config import SASRecConfig
from sasrec_utils.report.fingerprints import config_sha256, describes, file_sha256, mismatch


def test_fingerprint_matches_only_the_same_data_settings_and_checkpoint(tmp_path):
    served, other = tmp_path / "best.pt", tmp_path / "other.pt"
    served.write_bytes(b"weights of seed 42")
    other.write_bytes(b"weights of another run")
    cfg = SASRecConfig()
    stored = describes("d" * 64, cfg, [served, tmp_path / "other.pt"])
    assert stored["checkpoints_sha256"] == [file_sha256(served), file_sha256(other)]
    assert mismatch(stored, "d" * 64, cfg, served) is None
    assert mismatch(stored, "d" * 64, cfg.replace(seed=43, device="cpu"), served) is None
    assert mismatch(stored, "e" * 64, cfg, served) == "it was measured on other data"
    assert mismatch(stored, "d" * 64, cfg.replace(epochs=2), served) == (
        "it was measured with other settings"
    )
    retrained = tmp_path / "retrained.pt"
    retrained.write_bytes(b"same settings, other weights")
    assert mismatch(stored, "d" * 64, cfg, retrained) == (
        "it did not measure retrained.pt (another training run)"
    )
    assert mismatch({}, "d" * 64, cfg, served) == "it was measured on other data"  # old file


def test_config_fingerprint_leaves_out_seed_and_device_only():
    cfg = SASRecConfig()
    assert config_sha256(cfg) == config_sha256(cfg.replace(seed=1, device="cpu"))
    assert config_sha256(cfg) != config_sha256(cfg.replace(dropout=0.3))
