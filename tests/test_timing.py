import time

import pytest

from dlcourse import timing


def test_best_time_measures_a_known_sleep():
    seconds = timing.best_time(lambda: time.sleep(0.01), repeat=2, min_seconds=0)
    assert 0.009 < seconds < 0.05


def test_best_time_rejects_no_repeats():
    with pytest.raises(ValueError, match="repeat"):
        timing.best_time(lambda: None, repeat=0)


def test_matmul_flops_and_rate():
    assert timing.matmul_flops(2, 3, 4) == 48
    assert timing.matmul_gflops(64, repeat=1) > 0
