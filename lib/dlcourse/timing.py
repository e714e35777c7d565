"""Timing that is fair on a shared, noisy machine.

Report the best of several repeats (noise only ever adds time), and compare
methods measured in the same run as ratios rather than as absolute seconds.
"""

import time
from collections.abc import Callable

import numpy as np

__all__ = ["best_time", "matmul_flops", "matmul_gflops"]

ROUND_CAP = 20  # a timing round ends after at most 20 x min_seconds


def best_time(fn: Callable[[], object], repeat: int = 5, min_seconds: float = 0.05,
              warmup: int = 1, clock: Callable[[], float] = time.perf_counter) -> float:
    """Best seconds per call of ``fn()`` over ``repeat`` rounds.

    Each round calls ``fn`` enough times to last at least ``min_seconds`` (so
    very fast calls are not lost in timer resolution); ``warmup`` calls first
    absorb one-off costs (tracing, caches, memory allocation). A round also ends
    once it has lasted ``ROUND_CAP`` times ``min_seconds``: on a loaded machine a
    call that took microseconds at first can take a scheduler tick each time
    later (thread pools waiting for a core), and a round of tens of thousands of
    such calls would otherwise run for minutes.

    clock: ``time.perf_counter`` (wall-clock seconds, the default) or
    ``time.process_time`` (CPU seconds of this process: on a machine shared with
    other work, single-threaded code is then not charged for waiting for a core).
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(warmup):
        fn()
    start = clock()
    fn()
    single = max(clock() - start, 1e-9)
    number = max(1, int(min_seconds / single))
    best = single if number == 1 else float("inf")
    cap = ROUND_CAP * min_seconds
    for _ in range(repeat):
        start = clock()
        calls = 0
        while calls < number:
            fn()
            calls += 1
            if clock() - start > cap:
                break
        best = min(best, (clock() - start) / calls)
    return best


def matmul_flops(m: int, k: int, n: int) -> int:
    """Floating-point operations of an (m×k)·(k×n) product: one multiply and one add per MAC."""
    return 2 * m * k * n


def matmul_gflops(n: int = 1024, dtype=np.float32, repeat: int = 5) -> float:
    """Achieved GFLOP/s of ``np.matmul`` on two n×n matrices on this machine."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    seconds = best_time(lambda: a @ b, repeat=repeat)
    return matmul_flops(n, n, n) / seconds / 1e9
