"""Latency and throughput measurements for deployment notebooks and benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np


def measure_latency(
    fn: Callable[[str], object], texts: Sequence[str], repeats: int = 50, warmup: int = 3
) -> dict[str, float]:
    """Time ``fn(text)`` one call at a time, cycling through ``texts``.

    Returns:
        ``p50_ms``, ``p95_ms``, ``mean_ms`` and the number of timed calls ``n``.
    """
    if not texts:
        raise ValueError("measure_latency needs at least one text")
    for i in range(warmup):
        fn(texts[i % len(texts)])
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(texts[i % len(texts)])
        times.append((time.perf_counter() - start) * 1000)
    arr = np.asarray(times)
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "mean_ms": float(arr.mean()),
        "n": int(repeats),
    }


def measure_throughput(
    fn: Callable[[list[str]], object], texts: Sequence[str], batch_size: int = 32
) -> dict[str, float]:
    """Run ``fn`` over ``texts`` in batches (after one warm-up batch) and report texts per second."""
    texts = list(texts)
    if not texts:
        raise ValueError("measure_throughput needs at least one text")
    fn(texts[:batch_size])
    start = time.perf_counter()
    for i in range(0, len(texts), batch_size):
        fn(texts[i : i + batch_size])
    seconds = time.perf_counter() - start
    return {
        "texts_per_second": len(texts) / seconds,
        "seconds": seconds,
        "texts": len(texts),
        "batch_size": batch_size,
    }


@contextmanager
def stage(name: str, timings: dict[str, float]) -> Iterator[None]:
    """Record the wall time of a ``with`` block in ``timings[name]`` (seconds) and print it."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - start, 2)
        print(f"[{name}: {timings[name]:.1f} s]", flush=True)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux and macOS)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
