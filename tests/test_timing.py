"""Latency, throughput and stage timing."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from helpers.core import timing
from helpers.core.timing import measure_latency, measure_throughput, stage
from tests.conftest import REPO, FakeClock


def test_measure_latency_counts_calls_and_computes_percentiles(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock)
    calls = []

    def fn(text):  # text "k" takes k ms
        calls.append(text)
        clock.advance(int(text))

    texts = [str(k) for k in range(1, 11)]
    result = measure_latency(fn, texts, repeats=10, warmup=2)
    assert calls == ["1", "2"] + texts  # two warm-up calls, then each text once
    # Timed: 1 ms ... 10 ms. p50 = 5.5; p95 sits 0.55 of the way from the 9th to the 10th: 9.55.
    assert result == pytest.approx({"p50_ms": 5.5, "p95_ms": 9.55, "mean_ms": 5.5, "n": 10})


def test_measure_latency_sees_a_slow_function():
    result = measure_latency(lambda t: time.sleep(0.01), ["x"], repeats=5, warmup=0)
    assert result["p50_ms"] >= 9.0


def test_measure_throughput_batches_every_text():
    batches = []
    result = measure_throughput(lambda b: batches.append(list(b)), list("abcde"), batch_size=2)
    # One warm-up batch, then every text exactly once.
    assert batches == [["a", "b"], ["a", "b"], ["c", "d"], ["e"]]
    assert result["texts"] == 5 and result["batch_size"] == 2


def test_measure_throughput_times_every_batch_but_the_warm_up(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(timing.time, "perf_counter", clock)
    # 10 ms per text; the warm-up batch (2 texts, 20 ms) is not counted: 5 texts in 50 ms.
    result = measure_throughput(lambda b: clock.advance(10 * len(b)), list("abcde"), batch_size=2)
    assert result["seconds"] == pytest.approx(0.05) and result["texts_per_second"] == pytest.approx(100.0)


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


def test_peak_memory_grows_by_a_large_allocation():
    # A fresh interpreter, so the baseline peak is low (this process's peak may already be far
    # above anything allocated here): read the peak, allocate and touch 300 MiB, read it again.
    script = (
        "import numpy as np\n"
        "from helpers.core.timing import peak_memory_mb\n"
        "before = peak_memory_mb()\n"
        "block = np.ones(300 * 1024 * 1024 // 8)\n"
        "print(before, peak_memory_mb(), block.sum() == block.size)\n"
    )
    # Linux starts an exec'd child's peak at its parent's peak (this big test process), so the
    # measuring interpreter is started by a small one in between.
    launcher = "import subprocess, sys; subprocess.run([sys.executable, '-c', sys.argv[1]], check=True)"
    run = subprocess.run([sys.executable, "-c", launcher, script], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=120)
    before, after, touched = run.stdout.split()
    grown = float(after) - float(before)
    # Most of the 300 MiB, and not more (a unit slip, KiB or bytes read as MiB, is far off).
    assert touched == "True" and 200 <= grown <= 330, (before, after)
