"""Run facts: latency percentiles and peak memory."""

import time

import numpy as np
import pytest

from sasrec_utils.runtime import latency_summary, peak_memory, timed_ms


def test_timed_ms_times_each_call_in_order():
    seen = []
    times = timed_ms(lambda s: (seen.append(s), time.sleep(s)), [0.02, 0.001])
    assert seen == [0.02, 0.001] and times.shape == (2,)
    assert 20 <= times[0] < 200 and 1 <= times[1] < times[0]


def test_latency_summary_percentiles_in_ms():
    summary = latency_summary(np.arange(1, 101)).iloc[0]
    assert summary["requests"] == 100
    assert summary["p50_ms"] == pytest.approx(50.5)
    assert summary["p95_ms"] == pytest.approx(95.05)
    assert summary["requests_per_s"] == pytest.approx(1000 / 50.5)


def test_peak_memory_on_cpu_is_positive():
    memory = peak_memory("cpu")
    assert memory["MiB"] > 10 and "resident" in memory["what"]
