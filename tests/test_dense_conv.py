"""dlcourse.dense (Dense <-> conv kernels) checked against TensorFlow and SciPy convolutions."""

import numpy as np
import pytest
import scipy.signal

from dlcourse import core
from dlcourse import dense as dc

tf = pytest.importorskip("tensorflow")


def _conv(x, kernel, stride):
    return tf.nn.conv2d(x, kernel, strides=stride, padding="VALID").numpy()


@pytest.fixture
def tiles():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 12, 8, 3)).astype(np.float32)
    w = rng.standard_normal((4 * 4 * 3, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    return x, w, b


def test_tile_dense_equals_strided_conv(tiles):
    x, w, b = tiles
    expected = _conv(x, dc.dense_to_conv_kernel(w, (4, 4, 3)), 4) + b
    got = dc.tile_dense(x, w, b, (4, 4))
    assert got.shape == (2, 3, 2, 5)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_tile_dense_matches_explicit_tile(tiles):
    x, w, b = tiles
    got = dc.tile_dense(x, w, b, (4, 4))
    np.testing.assert_allclose(got[1, 2, 1], x[1, 8:12, 4:8, :].ravel() @ w + b, rtol=1e-5)


def test_fortran_order_is_wrong(tiles):
    x, w, _ = tiles
    right = _conv(x, dc.dense_to_conv_kernel(w, (4, 4, 3)), 4)
    wrong = _conv(x, w.reshape(4, 4, 3, 5, order="F"), 4)
    assert np.abs(right - wrong).max() > 1.0


def test_chw_flattened_weights():
    rng = np.random.default_rng(1)
    x_nchw = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w = rng.standard_normal((3 * 8 * 8, 4)).astype(np.float32)
    dense = x_nchw.reshape(2, -1) @ w  # a PyTorch-style flatten of the whole image
    x_nhwc = x_nchw.transpose(0, 2, 3, 1)
    conv = _conv(x_nhwc, dc.dense_to_conv_kernel(w, (8, 8, 3), patch_layout="CHW"), 1)
    np.testing.assert_allclose(conv[:, 0, 0], dense, atol=1e-4)
    naive = _conv(x_nhwc, dc.dense_to_conv_kernel(w, (8, 8, 3), patch_layout="HWC"), 1)
    assert np.abs(naive[:, 0, 0] - dense).max() > 1.0


@pytest.mark.parametrize("layout", dc.PATCH_LAYOUTS)
def test_round_trip(layout):
    w = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(24, 5)
    kernel = dc.dense_to_conv_kernel(w, (2, 3, 4), patch_layout=layout)
    assert kernel.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(dc.conv_kernel_to_dense(kernel, patch_layout=layout), w)


def test_flip_turns_correlate_into_convolve():
    rng = np.random.default_rng(2)
    x, k = rng.standard_normal((9, 7, 3)), rng.standard_normal((3, 2, 3))
    corr = scipy.signal.correlate(x, k, mode="valid")
    np.testing.assert_allclose(scipy.signal.convolve(x, dc.flip_spatial(k, (0, 1, 2)),
                                                     mode="valid"), corr, atol=1e-12)
    assert np.abs(scipy.signal.convolve(x, k, mode="valid") - corr).max() > 0.1


@pytest.mark.parametrize(("call", "message"), [
    (lambda: dc.dense_to_conv_kernel(np.zeros((10, 2)), (2, 2, 2)), "8 values"),
    (lambda: dc.dense_to_conv_kernel(np.zeros(8), (2, 2, 2)), "2-D"),
    (lambda: dc.dense_to_conv_kernel(np.zeros((8, 2)), (2, 2)), "three positive"),
    (lambda: dc.dense_to_conv_kernel(np.zeros((8, 2)), (2, 2, 2), "NCHW"), "patch_layout"),
    (lambda: dc.conv_kernel_to_dense(np.zeros((2, 2, 2))), "4-D"),
    (lambda: dc.flip_spatial(np.zeros((2, 2)), (0, 2)), "out of range"),
    (lambda: dc.tile_dense(np.zeros((1, 5, 4, 1)), np.zeros((4, 1)), np.zeros(1), (2, 2)),
     "whole 2×2 tiles"),
    (lambda: dc.receptive_field((1,), (2, 2), (1, 1)), "one entry per axis"),
])
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(("n", "k", "s"), [(100, 20, 20), (28, 3, 1), (13, 3, 2), (7, 7, 3)])
def test_output_size_matches_tensorflow(n, k, s):
    out = _conv(np.zeros((1, n, 1, 1), np.float32), np.zeros((k, 1, 1, 1), np.float32), (s, 1))
    assert core.output_size(n, k, s) == out.shape[1]


def test_receptive_field_is_what_the_conv_reads():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 11, 9, 1)).astype(np.float32)
    kernel = rng.standard_normal((3, 4, 1, 1)).astype(np.float32)
    out = _conv(x, kernel, (2, 3))
    for i, j in [(0, 0), (2, 1), (4, 1)]:
        rows, cols = dc.receptive_field((i, j), (3, 4), (2, 3))
        assert out[0, i, j, 0] == pytest.approx(np.sum(x[0, rows, cols, 0] * kernel[..., 0, 0]),
                                                abs=1e-5)


def test_coverage_counts_every_read():
    counts = dc.coverage((11, 9), (3, 4), (2, 3))
    n_out = core.output_size(11, 3, 2) * core.output_size(9, 4, 3)
    assert counts.sum() == n_out * 3 * 4
    assert dc.coverage((10, 10), (2, 2), (3, 3))[2, 2] == 0  # stride > window leaves gaps


@pytest.mark.parametrize("bad, error", [("abc", TypeError), (True, TypeError), (2.0, TypeError),
                                        (-1, ValueError)])
def test_windows_batches_checks_its_seed(bad, error):
    # dense.batches lives in windows.py; its other tests are in test_windows.py
    with pytest.raises(error, match="seed"):
        next(dc.batches(np.zeros((4, 2)), np.zeros(4), 2, seed=bad))
