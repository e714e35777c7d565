
import pytest

from dlcourse import timing


class FakeClock:
    """A clock that moves only when the timed function says how long it took."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def spend(self, seconds: float) -> None:
        self.now += seconds


def test_best_time_reports_the_fastest_round_per_call():
    clock = FakeClock()
    durations = iter([0.5, 0.5, 0.3, 0.2, 0.4])  # warm-up, probe, then three rounds
    seconds = timing.best_time(lambda: clock.spend(next(durations)), repeat=3,
                               min_seconds=0, clock=clock)
    assert seconds == pytest.approx(0.2)


def test_best_time_rejects_no_repeats():
    with pytest.raises(ValueError, match="repeat"):
        timing.best_time(lambda: None, repeat=0)


def test_matmul_flops_and_rate(monkeypatch):
    assert timing.matmul_flops(2, 3, 4) == 48
    # the rate is the FLOP count over the measured time: fix the time, check the division
    monkeypatch.setattr(timing, "best_time", lambda fn, repeat: (fn(), 0.25)[1])
    assert timing.matmul_gflops(64, repeat=1) == pytest.approx(2 * 64**3 / 0.25 / 1e9)


def test_best_time_calls_enough_times_to_fill_min_seconds():
    clock, calls = FakeClock(), []
    seconds = timing.best_time(lambda: (calls.append(1), clock.spend(0.002)), repeat=2,
                               min_seconds=0.02, warmup=1, clock=clock)
    # 1 warm-up + 1 probe + 2 rounds of int(0.02 / 0.002) = 10 calls each
    assert len(calls) == 1 + 1 + 2 * 10
    assert seconds == pytest.approx(0.002)


def test_a_round_stops_when_calls_slow_down_after_the_first():
    """The first calls take microseconds, later ones 10 ms (a thread pool waiting for a
    core): the number of calls per round is fixed from the fast ones, yet a round must
    stop once it has lasted ROUND_CAP times min_seconds."""
    clock, calls = FakeClock(), []

    def fast_then_slow():
        calls.append(1)
        clock.spend(1e-6 if len(calls) <= 2 else 0.01)

    seconds = timing.best_time(fast_then_slow, repeat=2, min_seconds=0.05, clock=clock)
    per_round = timing.ROUND_CAP * 0.05 / 0.01 + 1  # calls until the cap is passed
    assert len(calls) <= 2 + 2 * per_round  # not the 50,000 the fast probe asked for
    assert seconds == pytest.approx(0.01)
