"""Finite differences against gradients known in closed form."""

import numpy as np
import pytest

from dlcourse.nets import gradcheck


def _rng(seed=0):
    return np.random.default_rng(seed)


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2)])
def test_numerical_gradient_of_cubic_sum(shape):
    x = _rng().standard_normal(shape)
    grad = gradcheck.numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-7, atol=1e-8)


def test_numerical_gradient_of_quadratic_form_is_exact():
    # Central differences are exact (up to rounding) for quadratics.
    rng = _rng(1)
    a = rng.standard_normal((4, 4))
    x = rng.standard_normal(4)
    grad = gradcheck.numerical_gradient(lambda v: v @ a @ v, x, eps=1e-3)
    np.testing.assert_allclose(grad, (a + a.T) @ x, rtol=1e-8, atol=1e-9)


def test_numerical_gradient_of_log_sum_exp_is_softmax():
    x = _rng(2).standard_normal(6)
    grad = gradcheck.numerical_gradient(lambda v: np.log(np.exp(v).sum()), x)
    softmax = np.exp(x) / np.exp(x).sum()
    assert gradcheck.relative_error(grad, softmax) < 1e-8


def test_x_is_restored_and_closure_sees_perturbation():
    x = _rng(3).standard_normal((3, 3))
    before = x.copy()
    # f closes over x instead of using its argument: must still work.
    grad = gradcheck.numerical_gradient(lambda _: np.sin(x).sum(), x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(grad, np.cos(x), rtol=1e-7, atol=1e-9)


def test_float32_uses_the_step_actually_taken():
    x = np.array([1.0, 100.0], dtype=np.float32)
    grad = gradcheck.numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x,
                                        eps=1e-3)
    np.testing.assert_allclose(grad, 2 * x.astype(np.float64), rtol=1e-5)


def test_relative_error():
    assert gradcheck.relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.relative_error([0.0, 3.0], [0.0, 4.0]) == pytest.approx(0.25)
    assert gradcheck.relative_error([1.0], [-1.0]) == pytest.approx(2.0)
    # Scale-free.
    assert gradcheck.relative_error([1e-9, 2e-9], [1.1e-9, 2e-9]) == pytest.approx(
        gradcheck.relative_error([1.0, 2.0], [1.1, 2.0]))
    with pytest.raises(ValueError, match="shapes"):
        gradcheck.relative_error(np.zeros(3), np.zeros(4))


def test_gradient_error_flags_a_wrong_gradient():
    x = _rng(4).standard_normal((4, 5))
    f = lambda v: np.sum(np.tanh(v))  # noqa: E731
    right = 1 - np.tanh(x) ** 2
    assert gradcheck.gradient_error(f, x, right) < 1e-8
    wrong = right.copy()
    wrong[2, 3] *= 1.5
    assert gradcheck.gradient_error(f, x, wrong) > 1e-3
    # Sampled entries that include the wrong one catch it too.
    assert gradcheck.gradient_error(f, x, wrong, indices=[(0, 0), (2, 3)]) > 1e-3
    assert gradcheck.gradient_error(f, x, wrong, indices=[(0, 0), (1, 1)]) < 1e-8


def test_sample_indices():
    idx = gradcheck.sample_indices((3, 4, 5), 10, seed=1)
    assert len(idx) == len(set(idx)) == 10
    assert all(0 <= i < 3 and 0 <= j < 4 and 0 <= k < 5 for i, j, k in idx)
    assert len(gradcheck.sample_indices((2, 2), 100)) == 4
    with pytest.raises(ValueError, match="at least 1"):
        gradcheck.sample_indices((2, 2), 0)


def test_eps_sweep_is_u_shaped_and_float64_beats_float32():
    eps = np.logspace(-1, -12, 12)
    for dtype in (np.float64, np.float32):
        x = _rng(5).standard_normal(8).astype(dtype)
        f = lambda v: np.sum(np.sin(v) * v)  # noqa: E731
        analytic = np.sin(x) + x * np.cos(x)
        errors = gradcheck.eps_sweep(f, x, analytic, eps)
        assert errors.shape == eps.shape
        finite = errors[np.isfinite(errors)]
        # Too large an eps: truncation error; too small: rounding error.
        assert finite.min() < errors[0] / 100
        assert finite[-1] > finite.min() * 100
        if dtype == np.float64:
            best64 = finite.min()
            assert best64 < 1e-9
            assert 1e-7 < eps[np.nanargmin(errors)] < 1e-3
        else:
            assert finite.min() > 100 * best64


def test_bad_inputs():
    f = lambda v: v.sum()  # noqa: E731
    with pytest.raises(TypeError, match="floating-point"):
        gradcheck.numerical_gradient(f, np.arange(3))
    with pytest.raises(TypeError, match="NumPy array"):
        gradcheck.numerical_gradient(f, [1.0, 2.0])
    with pytest.raises(ValueError, match="eps"):
        gradcheck.numerical_gradient(f, np.ones(3), eps=0.0)
    with pytest.raises(ValueError, match="scalar"):
        gradcheck.numerical_gradient(lambda v: v * 2, np.ones(3))
    with pytest.raises(ValueError, match="analytic gradient has shape"):
        gradcheck.gradient_error(f, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="resolution"):
        gradcheck.partial_derivative(f, np.ones(3, np.float32), (0,), eps=1e-12)


@pytest.mark.parametrize("bad, error", [("abc", TypeError), (True, TypeError), (2.0, TypeError),
                                        (-1, ValueError)])
def test_sample_indices_checks_its_seed_and_count(bad, error):
    with pytest.raises(error, match="seed"):
        gradcheck.sample_indices((3, 4), 2, seed=bad)
    with pytest.raises(TypeError, match="count"):
        gradcheck.sample_indices((3, 4), 2.5)


def test_projected_errors_find_a_wrong_backward_pass_and_name_a_missing_array():
    """L = sum(tanh(x @ w) · R): the true gradients pass, one without tanh's derivative fails."""
    rng = np.random.default_rng(3)
    x, w, proj = (rng.standard_normal(shape) for shape in ((4, 3), (3, 2), (4, 2)))
    delta = proj * (1 - np.tanh(x @ w) ** 2)
    right = {"x": delta @ w.T, "w": x.T @ delta}
    errors = gradcheck.projected_errors(lambda: np.tanh(x @ w), {"x": x, "w": w}, right, proj)
    assert set(errors) == {"x", "w"} and max(errors.values()) < 1e-8
    wrong = {"w": (x.T @ proj)}  # the tanh derivative left out
    assert gradcheck.projected_errors(lambda: np.tanh(x @ w), {"x": x, "w": w}, wrong,
                                      proj)["w"] > 1e-3
    with pytest.raises(KeyError, match=r"arrays not passed: \['b'\]"):
        gradcheck.projected_errors(lambda: x @ w, {"x": x}, {"b": w}, proj)
