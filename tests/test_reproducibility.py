"""The reproducibility block and the source fingerprint."""

import subprocess
import time

import torch

from sasrec_utils.report.reproducibility import _git_commit, reproducibility, source_fingerprint


def test_reproducibility_block_lists_what_produced_the_run(tiny_cfg):
    block = reproducibility(tiny_cfg, "abc123", torch.device("cpu"), time.time() - 2.0)
    facts = block.facts
    assert facts["seed"] == str(tiny_cfg.seed) and facts["data sha256"] == "abc123"
    assert facts["device"] == "cpu"
    assert f"torch {torch.__version__}" in facts["packages"]
    assert 2.0 <= float(facts["wall time"].split()[0]) < 60
    assert block.config == tiny_cfg.to_dict()
    html = block._repr_html_()
    assert html.startswith("<details>")  # folded: a summary line, the rest inside
    assert "abc123" in html and '"hidden_dim": 16' in html
    assert '"lr"' not in html  # only the settings that differ from SASRecConfig()
    assert block.changed_settings()["hidden_dim"] == 16 and "lr" not in block.changed_settings()
    assert "seed: 42" in str(block)
    assert block.to_dict()["config"]["max_len"] == tiny_cfg.max_len
    assert len(facts["code sha256"]) == 64


def test_source_fingerprint_changes_with_a_notebook_source(tmp_path):
    (tmp_path / "notebooks").mkdir()
    before = source_fingerprint(tmp_path)
    assert before == source_fingerprint(tmp_path) and len(before) == 64
    (tmp_path / "notebooks" / "01_x.py").write_text("print(1)\n")
    assert source_fingerprint(tmp_path) != before


def test_the_commit_is_dirty_only_when_the_code_changed(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "sasrec_utils").mkdir()
    (tmp_path / "reports").mkdir()
    (tmp_path / "sasrec_utils" / "a.py").write_text("x = 1\n")
    (tmp_path / "reports" / "01.html").write_text("old\n")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    (tmp_path / "reports" / "01.html").write_text("rendered while the report runs\n")
    assert "uncommitted" not in _git_commit(tmp_path)
    (tmp_path / "sasrec_utils" / "a.py").write_text("x = 2\n")
    assert _git_commit(tmp_path).endswith("(uncommitted changes to the code)")


def test_amp_is_shown_as_off_on_a_cpu(tiny_cfg):
    facts = reproducibility(tiny_cfg.replace(amp=True), None, torch.device("cpu"), time.time())
    assert facts.facts["mixed precision"] == "off (amp is used on CUDA only)"
    facts = reproducibility(tiny_cfg.replace(amp=False), None, torch.device("cpu"), time.time())
    assert facts.facts["mixed precision"] == "off"
