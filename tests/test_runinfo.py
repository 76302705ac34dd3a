"""Run facts: latency percentiles and peak memory."""

import numpy as np
import pytest

from sasrec_utils.runtime import latency_summary, peak_memory


def test_latency_summary_percentiles_in_ms():
    summary = latency_summary(np.arange(1, 101) / 1000).iloc[0]
    assert summary["requests"] == 100
    assert summary["p50_ms"] == pytest.approx(50.5)
    assert summary["p95_ms"] == pytest.approx(95.05)
    assert summary["requests_per_s"] == pytest.approx(1000 / 50.5)


def test_peak_memory_on_cpu_is_positive():
    memory = peak_memory("cpu")
    assert memory["MiB"] > 10 and "resident" in memory["what"]
