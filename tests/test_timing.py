import time

import pytest

from dlcourse import timing


def test_best_time_measures_a_known_sleep():
    seconds = timing.best_time(lambda: time.sleep(0.01), repeat=2, min_seconds=0)
    assert 0.009 < seconds < 0.05


def test_best_time_rejects_no_repeats():
    with pytest.raises(ValueError, match="repeat"):
        timing.best_time(lambda: None, repeat=0)


def test_matmul_flops_and_rate(monkeypatch):
    assert timing.matmul_flops(2, 3, 4) == 48
    # the rate is the FLOP count over the measured time: fix the time, check the division
    monkeypatch.setattr(timing, "best_time", lambda fn, repeat: (fn(), 0.25)[1])
    assert timing.matmul_gflops(64, repeat=1) == pytest.approx(2 * 64**3 / 0.25 / 1e9)


def test_best_time_calls_enough_times_to_fill_min_seconds():
    calls = []
    seconds = timing.best_time(lambda: (calls.append(1), time.sleep(0.002)), repeat=2,
                               min_seconds=0.02, warmup=1)
    # 1 warm-up + 1 probe + 2 rounds of int(0.02 / probe) calls: 10 each, fewer when slow
    assert 1 + 1 + 2 * 1 <= len(calls) <= 1 + 1 + 2 * 10
    assert 0.0019 < seconds < 0.02


def test_a_round_stops_when_calls_slow_down_after_the_first():
    """The first calls take microseconds, later ones 10 ms (a thread pool waiting for a
    core): the number of calls per round is fixed from the fast ones, yet a round must
    not run for minutes."""
    calls = []

    def fast_then_slow():
        calls.append(1)
        if len(calls) > 2:
            time.sleep(0.01)

    start = time.perf_counter()
    seconds = timing.best_time(fast_then_slow, repeat=2, min_seconds=0.05)
    assert time.perf_counter() - start < 2 * timing.ROUND_CAP * 0.05 + 1
    assert 0.009 < seconds < 0.05
