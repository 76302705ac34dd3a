"""The GPU check degrades to a clear 'no CUDA' message and a JSON saying so (CPU here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: it would run")
def test_gpu_check_without_cuda_says_so_and_writes_json(tmp_path):
    out = tmp_path / "gpu.json"
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "GPU_CHECK_OUT": str(out),
        "PATH": os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin",
    }
    run = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "no CUDA device here" in run.stdout
    assert "gpu_check: no CUDA: torch" in run.stdout and "`make bench`" in run.stdout
    report = json.loads(out.read_text())
    assert report["cuda"] is False and "sees no CUDA device" in report["reason"]
