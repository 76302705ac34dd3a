"""The reproducibility block and the source fingerprint."""

import time

import torch

from sasrec_utils.reproducibility import reproducibility, source_fingerprint


def test_reproducibility_block_lists_what_produced_the_run(tiny_cfg):
    block = reproducibility(tiny_cfg, "abc123", torch.device("cpu"), time.time() - 2.0)
    facts = block.facts
    assert facts["seed"] == str(tiny_cfg.seed) and facts["data sha256"] == "abc123"
    assert facts["device"] == "cpu"
    assert f"torch {torch.__version__}" in facts["packages"]
    assert 2.0 <= float(facts["wall time"].split()[0]) < 60
    assert block.config == tiny_cfg.to_dict()
    html = block._repr_html_()
    assert "abc123" in html and '"hidden_dim": 16' in html
    assert "seed: 42" in str(block)
    assert block.to_dict()["config"]["max_len"] == tiny_cfg.max_len
    assert len(facts["code sha256"]) == 64


def test_source_fingerprint_changes_with_a_notebook_source(tmp_path):
    (tmp_path / "notebooks").mkdir()
    before = source_fingerprint(tmp_path)
    assert before == source_fingerprint(tmp_path) and len(before) == 64
    (tmp_path / "notebooks" / "01_x.py").write_text("print(1)\n")
    assert source_fingerprint(tmp_path) != before
