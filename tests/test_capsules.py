"""capsules: every method against an explicit loop of small matrix-vector products."""

import numpy as np
import pytest

from dlcourse import dense as cp


def _loop(u, w):
    b, n_in = u.shape[:2]
    out = np.zeros((b, n_in, w.shape[1], w.shape[2]))
    for n in range(b):
        for i in range(n_in):
            for j in range(w.shape[1]):
                out[n, i, j] = w[i, j] @ u[n, i]
    return out


@pytest.mark.parametrize("name", list(cp.CAPSULE_METHODS))
def test_methods_match_loop(name):
    u, w = cp.random_capsules(batch=3, n_in=5, d_in=4, n_out=2, d_out=6, seed=1)
    got = cp.CAPSULE_METHODS[name](u, w)
    assert got.shape == (3, 5, 2, 6)
    np.testing.assert_allclose(got, _loop(u, w), rtol=1e-5, atol=1e-6)


def test_shape_errors():
    u, w = cp.random_capsules(batch=2, n_in=4, d_in=3, n_out=2, d_out=5)
    with pytest.raises(ValueError, match="disagree"):
        cp.predict_einsum(u[:, :3], w)
    with pytest.raises(ValueError, match="n_in, n_out, d_out, d_in"):
        cp.predict_tiled(u, w[0])
    with pytest.raises(ValueError, match="batch, n_in, d_in"):
        cp.predict_broadcast(u[0], w)


def test_peak_memory_sees_numpy_buffers():
    result, peak = cp.peak_memory(lambda: np.ones(1_000_000).sum())
    assert result == 1_000_000
    assert 8_000_000 <= peak < 9_000_000


def test_peak_memory_matches_formula():
    u, w = cp.random_capsules(batch=4, n_in=64, seed=2)
    expected = cp.intermediate_nbytes(u, w)
    for name, fn in cp.CAPSULE_METHODS.items():
        _, peak = cp.peak_memory(lambda fn=fn: fn(u, w))
        assert peak == pytest.approx(expected[name], rel=0.05), name
    assert expected["tile + matmul"] > 5 * expected["einsum"]


@pytest.mark.parametrize("bad, error", [("abc", TypeError), (True, TypeError), (2.0, TypeError),
                                        (-1, ValueError)])
def test_random_capsules_checks_its_seed(bad, error):
    with pytest.raises(error, match="seed"):
        cp.random_capsules(batch=1, n_in=2, d_in=2, n_out=2, d_out=2, seed=bad)
