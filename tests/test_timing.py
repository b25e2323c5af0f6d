"""Latency, throughput and stage timing."""

from __future__ import annotations

import time

import pytest

from helpers.core.timing import measure_latency, measure_throughput, stage


def test_measure_latency_counts_calls_and_orders_percentiles():
    calls = []
    result = measure_latency(lambda t: calls.append(t), ["a", "b"], repeats=10, warmup=2)
    assert len(calls) == 12 and calls[:4] == ["a", "b", "a", "b"]
    assert result["n"] == 10 and 0 <= result["p50_ms"] <= result["p95_ms"]


def test_measure_latency_sees_a_slow_function():
    result = measure_latency(lambda t: time.sleep(0.01), ["x"], repeats=5, warmup=0)
    assert result["p50_ms"] >= 9.0


def test_measure_throughput_batches_every_text():
    batches = []
    result = measure_throughput(lambda b: batches.append(list(b)), list("abcde"), batch_size=2)
    # One warm-up batch, then every text exactly once.
    assert batches == [["a", "b"], ["a", "b"], ["c", "d"], ["e"]]
    assert result["texts"] == 5 and result["texts_per_second"] > 0


def test_empty_inputs_are_rejected():
    with pytest.raises(ValueError, match="at least one text"):
        measure_latency(print, [])
    with pytest.raises(ValueError, match="at least one text"):
        measure_throughput(print, [])


def test_stage_records_time_even_when_the_block_fails(capsys):
    timings: dict[str, float] = {}
    with stage("quick", timings):
        time.sleep(0.02)
    with pytest.raises(RuntimeError), stage("broken", timings):
        raise RuntimeError("boom")
    assert timings["quick"] >= 0.02 and "broken" in timings
    assert "[quick:" in capsys.readouterr().out


def test_peak_memory_grows_with_a_large_allocation():
    import numpy as np

    from helpers.core.timing import peak_memory_mb

    before = peak_memory_mb()
    block = np.ones(64 * 1024 * 1024 // 8)  # 64 MiB, touched
    after = peak_memory_mb()
    assert block.sum() > 0 and after >= before and after > 64

