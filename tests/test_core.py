"""dlcourse.core: the one output-size formula (against TensorFlow's shapes) and the validators."""

import itertools
import math

import numpy as np
import pytest

from dlcourse import core


@pytest.mark.parametrize("n, k, s, padding, expected", [
    (64, 4, 1, "SAME", 64), (64, 4, 1, "VALID", 61), (31, 3, 2, 1, 16), (5, 5, 1, "VALID", 1),
    (7, 3, 3, "SAME", 3), (7, 9, 2, "SAME", 4), (10, 3, 2, 0, 4), (1, 3, 1, 1, 1),
    (10, 3, 1, (1, 2), 11), (4, 5, 1, "VALID", 0), (0, 1, 1, "VALID", 0), (0, 3, 2, "SAME", 0),
])
def test_output_size(n, k, s, padding, expected):
    assert core.output_size(n, k, s, padding) == expected


def test_output_size_is_the_floor_formula():
    """Against the formula written with math.floor on real division, independently."""
    for n, k, s, before, after in itertools.product(range(0, 9), range(1, 5), range(1, 4),
                                                     range(3), range(3)):
        padded = n + before + after
        expected = max(0, math.floor((padded - k) / s) + 1) if padded >= k else 0
        assert core.output_size(n, k, s, (before, after)) == expected


def test_output_size_matches_tensorflow_shapes():
    tf = pytest.importorskip("tensorflow")
    for n, k, s in itertools.product(range(1, 9), range(1, 5), range(1, 4)):
        x = np.zeros((1, n, 1, 1), np.float32)
        for padding in ("VALID", "SAME"):
            if padding == "VALID" and k > n:
                assert core.output_size(n, k, s, padding) == 0
                continue
            got = tf.nn.conv2d(x, np.zeros((k, 1, 1, 1), np.float32), (s, 1), padding).shape[1]
            assert core.output_size(n, k, s, padding) == got, (n, k, s, padding)


def test_same_padding_puts_the_odd_zero_last():
    assert core.pad_amounts(6, 4, 1, "SAME") == (1, 2)
    assert core.pad_amounts(7, 2, 2, "SAME") == (0, 1)
    assert core.pad_amounts(9, 3, 1, (2, 0)) == (2, 0)
    assert core.pad_amounts(9, 3, 1, "valid") == (0, 0)


def test_output_size_accepts_numpy_integers_and_rejects_the_rest():
    assert core.output_size(np.int64(9), np.int32(3), np.uint8(2), "SAME") == 5
    with pytest.raises(TypeError):
        core.output_size(5.0, 3, 1)
    with pytest.raises(TypeError):
        core.output_size(True, 3, 1)
    with pytest.raises(ValueError):
        core.output_size(-1, 3, 1)
    with pytest.raises(ValueError):
        core.output_size(5, 3, 0)
    with pytest.raises(ValueError):
        core.output_size(5, 0, 1)


@pytest.mark.parametrize("padding, expected", [
    ("same", "SAME"), ("VALID", "VALID"), (2, ((2, 2), (2, 2))), (np.int64(1), ((1, 1), (1, 1))),
    ((2, 1), ((2, 2), (1, 1))), (((1, 2), (0, 1)), ((1, 2), (0, 1))),
    ([[1, 2], [0, 1]], ((1, 2), (0, 1))), ((np.int32(0), 3), ((0, 0), (3, 3))),
])
def test_normalize_padding(padding, expected):
    assert core.normalize_padding(padding) == expected


@pytest.mark.parametrize("padding, error", [
    ("full", ValueError), (-1, ValueError), ((1, -2), ValueError), ((1, 2, 3), ValueError),
    (1.5, TypeError), (((1, 2), (0, 1.0)), TypeError), (None, TypeError),
    (((1, 2, 3), 1), TypeError),
])
def test_normalize_padding_rejects(padding, error):
    with pytest.raises(error):
        core.normalize_padding(padding)


def test_pair():
    assert core.pair(3, "k") == (3, 3)
    assert core.pair(np.array([2, 5]), "k") == (2, 5)
    assert core.pair((0, 1), "p", minimum=0) == (0, 1)
    for bad, error in ((0, ValueError), ((1,), TypeError), ((1, 2.0), TypeError),
                       ("ab", TypeError), (True, TypeError)):
        with pytest.raises(error):
            core.pair(bad, "k")


def test_count():
    assert core.count("n", np.int16(4)) == 4 and type(core.count("n", np.int16(4))) is int
    assert core.count("n", 0, minimum=0) == 0
    for bad, error in ((True, TypeError), (2.0, TypeError), ("3", TypeError), (0, ValueError)):
        with pytest.raises(error):
            core.count("n", bad)


@pytest.mark.parametrize("bad, error", [
    (float("nan"), ValueError), (float("inf"), ValueError), (-0.1, ValueError), (1.5, ValueError),
    (True, TypeError), (np.bool_(True), TypeError), (0.5 + 0j, TypeError), ("0.5", TypeError),
    (None, TypeError), (np.float64("nan"), ValueError),
])
def test_rate_rejects(bad, error):
    with pytest.raises(error):
        core.rate("p", bad)


def test_rate_and_finite_number_accept():
    assert core.rate("p", np.float32(0.25)) == 0.25
    assert core.rate("p", 1) == 1.0
    assert core.finite_number("q", 3, strictly_above=0) == 3.0
    with pytest.raises(ValueError):
        core.finite_number("q", 0, strictly_above=0)
    with pytest.raises(ValueError):
        core.finite_number("q", -1, minimum=0)


def test_vector():
    np.testing.assert_array_equal(core.vector("v", [1, 2, 3]), [1.0, 2.0, 3.0])
    assert core.vector("v", [], allow_empty=True).shape == (0,)
    for bad, error in (([], ValueError), ([[1, 2]], ValueError), ([1, float("nan")], ValueError),
                       ([1, [2, 3]], TypeError), (["a"], TypeError), ([1j], TypeError),
                       (None, TypeError)):
        with pytest.raises(error):
            core.vector("v", bad)


@pytest.mark.parametrize("bad, error", [("abc", TypeError), (1.5, TypeError), (True, TypeError),
                                        (-1, ValueError), (None, TypeError)])
def test_seed_refuses_what_numpy_would_choke_on(bad, error):
    with pytest.raises(error, match="seed"):
        core.seed("seed", bad)


def test_seed_accepts_numpy_integers_and_none_when_allowed():
    assert core.seed("seed", np.int64(7)) == 7 and type(core.seed("seed", np.int64(7))) is int
    assert core.seed("seed", None, allow_none=True) is None


def test_counts():
    assert core.counts("w", (np.int64(8), 16)) == (8, 16)
    assert core.counts("w", [0, 3], length=2, minimum=0) == (0, 3)
    for bad, length, error, match in (
            (5, None, TypeError, "w must be a sequence of integers, got 5"),
            ((8, 2.0), None, TypeError, r"w\[1\] must be an integer"),
            ((8, True), None, TypeError, r"w\[1\]"),
            ((), None, ValueError, "w must hold at least one integer"),
            ((8, 16), 3, ValueError, r"w must hold 3 integers, got \(8, 16\)"),
            ((8, 0, 4), 3, ValueError, r"w\[1\] must be at least 1, got 0")):
        with pytest.raises(error, match=match):
            core.counts("w", bad, length)


def test_finite_number_strictly_below():
    assert core.finite_number("p", 0.0, minimum=0, strictly_below=1) == 0.0
    with pytest.raises(ValueError, match="p must be less than 1, got 1.0"):
        core.finite_number("p", 1, strictly_below=1)


def test_choice():
    assert core.choice("optimizer", "adam", ("adam", "lbfgs")) == "adam"
    assert core.choice("missing", None, (None, "kaggle")) is None
    assert core.choice("net", np.str_("vgg16"), ("vgg16", "vgg19")) == "vgg16"
    with pytest.raises(ValueError, match="optimizer must be one of 'adam', 'lbfgs'; got 'sgd'"):
        core.choice("optimizer", "sgd", ("adam", "lbfgs"))
    # an array or a number is not a name (NumPy is never asked whether an array == "adam")
    for bad in (np.array(["adam", "adam"]), 1, ["adam"]):
        with pytest.raises(ValueError, match="must be one of"):
            core.choice("optimizer", bad, ("adam", "lbfgs"))


@pytest.mark.parametrize("shape, layout", [
    ((2, 5, 5, 3), "N, H, W, C"), ((7, 30), "n, 30"), ((4, 4, 3), "H, W, 3"), ((5, 6), "..., h, w"),
    ((1, 2, 5, 6), "..., h, w"), ((2, 3), "N, d1, ..."), ((2, 3, 4), "N, d1, ..."),
    ((2, 8, 8, 5), "n, s, s, k"), ((None, 8, 8, 5), "n, s, s, k"), ((None, 30), "n, 30"),
    ((4, 4, 3), ("1, H, W, 3", "H, W, 3")), ((1, 4, 4, 3), ("1, H, W, 3", "H, W, 3")),
])
def test_axes_accept(shape, layout):
    assert core.axes("x", shape, layout) == shape


@pytest.mark.parametrize("shape, layout, message", [
    ((5, 5, 1), "N, H, W, C", r"x must be a 4-D array \(N, H, W, C\), got shape \(5, 5, 1\)"),
    ((7, 29), "n, 30", r"2-D array \(n, 30\), got shape \(7, 29\)"),
    ((5,), "..., h, w", r"x must be an array of 2 or more axes \(\.\.\., h, w\), got shape \(5,\)"),
    ((3,), "N, d1, ...", r"2 or more axes \(N, d1, \.\.\.\)"),
    ((2, 8, 6, 5), "n, s, s, k", r"\(n, s, s, k\), got shape \(2, 8, 6, 5\)"),
    ((2, 4, 4, 3), ("1, H, W, 3", "H, W, 3"),
     r"x must be a 4-D array \(1, H, W, 3\) or a 3-D array \(H, W, 3\), got shape \(2, 4, 4, 3\)"),
])
def test_axes_reject_naming_the_layout_and_the_shape(shape, layout, message):
    with pytest.raises(ValueError, match=message):
        core.axes("x", shape, layout)


def test_axes_reads_a_tensorflow_shape():
    tf = pytest.importorskip("tensorflow")
    assert core.axes("F", tf.zeros((1, 4, 5, 2)).shape, "1, H, W, C") == (1, 4, 5, 2)


def test_array():
    x = np.zeros((2, 3), np.float32)
    assert core.array("x", x, "N, d", convert=False) is x  # a layer keeps its own input
    got = core.array("x", [[1, 2, 3]], "N, 3", dtype=np.float64)
    assert got.dtype == np.float64 and got.shape == (1, 3)
    for bad, error, match in (([[1, 2, 3]], TypeError, "x must be a NumPy array, got list"),
                              (np.zeros(3), ValueError, r"2-D array \(N, d\)")):
        with pytest.raises(error, match=match):
            core.array("x", bad, "N, d", convert=False)
    for bad in ("abc", [[1, 2], [3]], [[1j, 2]], None, np.array([["a", "b"]])):
        with pytest.raises(TypeError, match="x must"):
            core.array("x", bad, "N, d")


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_array_finite_names_the_first_bad_entry_after_the_conversion():
    image = np.zeros((3, 4, 3))
    image[1, 2, 0], image[2, 0, 1] = np.nan, 1e300  # 1e300 overflows float32
    with pytest.raises(ValueError, match=r"img must hold finite numbers; NaN or infinite values: "
                                         r"2 of 36, the first img\[1, 2, 0\] = nan"):
        core.array("img", image, "H, W, 3", dtype=np.float32, finite=True)
    image[1, 2, 0] = 0.0
    assert core.array("img", image, "H, W, 3").dtype == np.float64  # no dtype: as given
    with pytest.raises(ValueError, match=r"img\[2, 0, 1\] = inf"):
        core.array("img", image, "H, W, 3", dtype=np.float32, finite=True)


def test_vector_messages():
    for bad, error, match in (([[1, 2]], ValueError, r"v must be a 1-D array \(n\)"),
                              ([1, float("nan")], ValueError, r"finite numbers.*v\[1\] = nan"),
                              (["a"], TypeError, "v must hold real numbers")):
        with pytest.raises(error, match=match):
            core.vector("v", bad)
