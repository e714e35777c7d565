"""dlcourse.conv against TensorFlow (forward and GradientTape gradients) and SciPy."""

import itertools

import numpy as np
import pytest
import scipy.signal

from dlcourse import conv, core

tf = pytest.importorskip("tensorflow")

TOL = {np.float32: 2e-4, np.float64: 1e-10}


def _tf_padding(padding):
    """conv's padding argument -> tf.nn.conv2d's (explicit NHWC pairs for amounts)."""
    if isinstance(padding, str):
        return padding
    if isinstance(padding, int):
        padding = (padding, padding)
    per_axis = [(p, p) if isinstance(p, int) else tuple(p) for p in padding]
    return [[0, 0], list(per_axis[0]), list(per_axis[1]), [0, 0]]


def _tf_forward_and_grads(x, w, dout, stride, padding):
    xt, wt = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([xt, wt])
        y = tf.nn.conv2d(xt, wt, stride, _tf_padding(padding))
        loss = tf.reduce_sum(y * dout) if dout is not None else None
    if dout is None:
        return y.numpy(), None, None
    dx, dw = tape.gradient(loss, [xt, wt])
    return y.numpy(), dx.numpy(), dw.numpy()


def _random_case(seed):
    """Random shapes: batch 1-3, channels 1-4, kernels up to 5, strides 1-3, any padding."""
    rng = np.random.default_rng(seed)
    n, c, o = (int(v) for v in rng.integers(1, [4, 5, 5]))
    h, wd = (int(v) for v in rng.integers(4, 13, size=2))
    kh, kw = (int(v) for v in rng.integers(1, 6, size=2))
    stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    if seed % 3 == 0:
        stride = stride[0]
    amounts = [int(v) for v in rng.integers(0, 3, size=4)]
    padding = ["VALID", "SAME", amounts[0], (amounts[0], amounts[1]),
               ((amounts[0], amounts[1]), (amounts[2], amounts[3]))][seed % 5]
    dtype = (np.float32, np.float64)[seed % 2]
    x = rng.standard_normal((n, h, wd, c)).astype(dtype)
    w = rng.standard_normal((kh, kw, c, o)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    return rng, x, w, b, stride, padding


@pytest.mark.parametrize("seed", range(20))
def test_forward_and_backward_match_tensorflow(seed):
    rng, x, w, b, stride, padding = _random_case(seed)
    # Some random kernels do not fit a small unpadded input: skip those shapes.
    try:
        conv.geometry(x.shape, w.shape, stride, padding)
    except ValueError:
        pytest.skip("kernel larger than padded input")
    out_shape = conv.conv2d(x, w, stride=stride, padding=padding).shape
    dout = rng.standard_normal(out_shape).astype(x.dtype)
    y_ref, dx_ref, dw_ref = _tf_forward_and_grads(x, w, dout, stride, padding)
    tol = TOL[x.dtype.type]
    for method in conv.METHODS:
        y = conv.conv2d(x, w, b, stride=stride, padding=padding, method=method)
        assert y.dtype == x.dtype
        np.testing.assert_allclose(y, y_ref + b, rtol=tol, atol=tol, err_msg=method)
        dx, dw, db = conv.conv2d_backward(dout, x, w, stride, padding, method=method)
        assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
        np.testing.assert_allclose(dx, dx_ref, rtol=tol, atol=tol, err_msg=f"{method} dx")
        np.testing.assert_allclose(dw, dw_ref, rtol=tol, atol=tol * 10, err_msg=f"{method} dw")
        np.testing.assert_allclose(db, dout.sum(axis=(0, 1, 2)), rtol=tol, atol=tol)


@pytest.mark.parametrize("stride, padding, channels",
                         list(itertools.product([1, 2, 3], ["VALID", "SAME"], [5, 16])))
def test_blocked_im2col_on_a_larger_layer(stride, padding, channels, monkeypatch):
    """Tiny im2col blocks force the split into many blocks (several images, then rows).

    5 and 16 input channels take the two layouts of the backward pass's scatter-add.
    """
    rng = np.random.default_rng(stride)
    x = rng.standard_normal((3, 17, 15, channels)).astype(np.float32)
    w = rng.standard_normal((3, 3, channels, 4)).astype(np.float32)
    full = conv.conv2d(x, w, stride=stride, padding=padding)
    dout = rng.standard_normal(full.shape).astype(np.float32)
    y_ref, dx_ref, dw_ref = _tf_forward_and_grads(x, w, dout, stride, padding)
    for block_bytes in (30_000, 700):   # several rows per block; one row per block
        monkeypatch.setattr(conv.methods, "BLOCK_BYTES", block_bytes)
        np.testing.assert_allclose(conv.conv2d(x, w, stride=stride, padding=padding), y_ref,
                                   rtol=1e-4, atol=1e-4)
        dx, dw, _ = conv.conv2d_backward(dout, x, w, stride, padding)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(dw, dw_ref, rtol=1e-4, atol=1e-3)


def test_same_padding_is_uneven_like_tensorflow():
    # n=6, k=4, s=1: 3 zeros in total, 1 on top and 2 at the bottom.
    x = np.arange(36, dtype=np.float64).reshape(1, 6, 6, 1)
    w = np.ones((4, 4, 1, 1))
    np.testing.assert_allclose(conv.conv2d(x, w, padding="SAME"),
                               tf.nn.conv2d(x, w, 1, "SAME").numpy())


def test_im2col_is_a_view_with_the_right_windows():
    x = np.arange(2 * 5 * 6 * 3, dtype=np.float32).reshape(2, 5, 6, 3)
    windows = conv.im2col(x, (2, 3), stride=(2, 1))
    assert windows.shape == (2, 2, 4, 2, 3, 3)
    assert np.shares_memory(windows, x)
    assert not windows.flags.writeable
    for n, i, j in itertools.product(range(2), range(2), range(4)):
        np.testing.assert_array_equal(windows[n, i, j], x[n, 2 * i:2 * i + 2, j:j + 3])
    padded = conv.im2col(x, 3, padding=1)
    assert padded.shape == (2, 5, 6, 3, 3, 3)
    np.testing.assert_array_equal(padded[0, 0, 0, 0], 0)      # the top row is padding
    np.testing.assert_array_equal(padded[0, 0, 0, 1, 1], x[0, 0, 0])


def test_matches_scipy_correlate_and_convolve():
    rng = np.random.default_rng(7)
    image, kernel = rng.standard_normal((9, 11)), rng.standard_normal((3, 4))
    ours = conv.conv2d(image[None, :, :, None], kernel[:, :, None, None])[0, :, :, 0]
    np.testing.assert_allclose(ours, scipy.signal.correlate2d(image, kernel, mode="valid"))
    flipped = kernel[::-1, ::-1]
    ours_flipped = conv.conv2d(image[None, :, :, None], flipped[:, :, None, None])[0, :, :, 0]
    np.testing.assert_allclose(ours_flipped, scipy.signal.convolve2d(image, kernel, mode="valid"))


def test_dtypes():
    rng = np.random.default_rng(0)
    x32 = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    w32 = rng.standard_normal((3, 3, 2, 2)).astype(np.float32)
    assert conv.conv2d(x32, w32).dtype == np.float32
    assert conv.conv2d(x32.astype(np.float64), w32.astype(np.float64)).dtype == np.float64
    assert conv.conv2d(x32, w32.astype(np.float64)).dtype == np.float64     # promoted
    with pytest.raises(TypeError, match="float32 or float64"):
        conv.conv2d(x32.astype(np.int64), w32)
    with pytest.raises(TypeError, match="float32 or float64"):
        conv.conv2d(x32.astype(np.float16), w32)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 3, 1))), ValueError, "channels"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((7, 3, 2, 1))), ValueError,
     "larger than the padded"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((8, 3, 2, 1)), padding=1), ValueError, "larger"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), padding="FULL"), ValueError,
     "unknown padding"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), padding=-1), ValueError, "least 0"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), padding=1.5), TypeError, "padding"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), stride=0), ValueError, "at least 1"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), stride=(1, -2)), ValueError,
     "at least 1"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), stride=(1, 2, 3)), TypeError,
     "pair"),
    (dict(x=np.zeros((5, 5, 2)), w=np.zeros((3, 3, 2, 1))), ValueError, "4-D NHWC"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2))), ValueError, "4-D HWIO"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), b=np.zeros(2)), ValueError,
     "one bias per filter"),
    (dict(x=np.zeros((1, 5, 5, 2)), w=np.zeros((3, 3, 2, 1)), method="fft"), ValueError,
     "unknown method"),
])
def test_bad_input_gives_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        conv.conv2d(**kwargs)


def test_backward_bad_input():
    x, w = np.zeros((2, 5, 5, 2)), np.zeros((3, 3, 2, 4))
    with pytest.raises(ValueError, match="output's shape"):
        conv.conv2d_backward(np.zeros((2, 5, 5, 4)), x, w)          # VALID gives 3x3
    with pytest.raises(ValueError, match="channels"):
        conv.conv2d_backward(np.zeros((2, 3, 3, 4)), x, np.zeros((3, 3, 1, 4)))
    with pytest.raises(ValueError, match="unknown padding"):
        conv.conv2d_backward(np.zeros((2, 3, 3, 4)), x, w, padding="same-ish")


def test_kernel_larger_than_the_padded_input_is_refused():
    x, w = np.zeros((1, 4, 4, 1)), np.zeros((5, 5, 1, 1))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv.conv2d(x, w)
    assert conv.conv2d(x, w, padding="SAME").shape == (1, 4, 4, 1)  # SAME pads enough
    assert core.output_size(4, 5, 1, "VALID") == 0


def test_padding_wider_than_input_and_kernel_is_refused_before_any_allocation():
    # issue #26 item 18: padding=10**9 failed deep inside np.pad ("array is too big")
    x, w = np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 1))
    for padding in (10**9, 6, ((0, 0), (0, 6)), (1, 7)):
        for call in (lambda p: conv.conv2d(x, w, padding=p), lambda p: conv.im2col(x, 3, padding=p),
                     lambda p: conv.conv2d_backward(np.zeros((1, 3, 3, 1)), x, w, padding=p)):
            with pytest.raises(ValueError, match="padding"):
                call(padding)
    # up to the input size, or k - 1 for a kernel larger than the input, still works
    assert conv.conv2d(x, w, padding=5).shape == (1, 13, 13, 1)
    assert conv.conv2d(np.zeros((1, 1, 1, 1)), np.zeros((7, 7, 1, 1)), padding=6).shape == \
        (1, 7, 7, 1)


def test_flops():
    assert conv.conv2d_flops((16, 56, 56, 64), (3, 3, 64, 64), 1, "SAME") == \
        2 * 16 * 56 * 56 * 3 * 3 * 64 * 64


@pytest.mark.slow  # half a second or more
def test_time_conv_checks_every_method_and_scales_the_naive_one():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 2, 4)).astype(np.float32)
    rows = conv.time_conv(x, w, 2, "SAME", directions=("forward", "backward"),
                               naive_items=1, naive_filters=2, repeat=1)
    assert [(r.method, r.direction) for r in rows] == [
        (m, d) for d in ("forward", "backward") for m in conv.TIMED_METHODS]
    for r in rows:
        assert r.max_error < 1e-5 and r.seconds > 0
        assert r.scaled == (r.method == "naive")
    assert "1 of 3 images and 2 of 4 filters" in rows[0].describe_scaling()


def test_ratio_is_taken_per_round():
    r = conv.ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0])        # per round: 2, 4, 3
    assert (r.median, r.low, r.high, r.rounds) == (3.0, 2.0, 4.0, 3)


def test_interleaved_rounds_rotate_the_order():
    log = []
    contenders = {name: (lambda name=name: log.append(name)) for name in "abc"}
    times = conv.interleaved_times(contenders, rounds=3, min_seconds=0)
    assert {k: v.shape for k, v in times.items()} == {k: (3,) for k in "abc"}
    # one warm-up call each, then per round each contender twice (a probe and one timed call)
    rounds = "".join(log[3:])
    assert log[:3] == list("abc")
    assert rounds == "aabbcc" + "bbccaa" + "ccaabb"


def test_compare_with_tf_reports_consistent_ratios():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 9, 9, 3)).astype(np.float32)
    w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    # A clock that ticks half a second per reading: every timed call then takes 0.5 s, so
    # the rates must be exactly the operation counts over 0.5 s.
    ticks = itertools.count(step=0.5)
    result = conv.compare_with_tf(x, w, 1, "SAME", rounds=3, min_seconds=0.001, square=16,
                                  clock=lambda: next(ticks))
    assert result["max_error"] < 1e-5
    assert result["matmul_shapes"] == ((2 * 9 * 9, 27), (27, 4))
    assert all(np.all(t == 0.5) for t in result["seconds"].values()), result["seconds"]
    forward_flops = 2 * (2 * 9 * 9) * (3 * 3 * 3) * 4  # 2 per MAC, output pixels x window x O
    rates = result["gflops"]
    assert rates["im2col forward"] == pytest.approx(forward_flops / 0.5 / 1e9)
    assert rates["tf backward"] == pytest.approx(2 * forward_flops / 0.5 / 1e9)
    assert rates["matmul (square)"] == pytest.approx(2 * 16**3 / 0.5 / 1e9)
    forward = result["ratios"]["im2col/tf forward"]
    assert (forward.median, forward.rounds) == (1.0, 3)


@pytest.mark.parametrize("kernel, padding", [((2, 3), ((1, 2), (0, 1))), ((3, 1), "SAME"),
                                             ((1, 1), "VALID")])
def test_stride_one_backward_with_many_channels_matches_tensorflow(kernel, padding):
    """With stride 1 and 16+ input channels, dx comes from a second im2col product."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 7, 6, 16))
    w = rng.standard_normal((*kernel, 16, 5))
    dout = rng.standard_normal(conv.conv2d(x, w, padding=padding).shape)
    _, dx_ref, dw_ref = _tf_forward_and_grads(x, w, dout, 1, padding)
    dx, dw, _ = conv.conv2d_backward(dout, x, w, 1, padding)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dw, dw_ref, rtol=1e-10, atol=1e-10)
