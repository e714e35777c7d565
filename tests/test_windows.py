"""windows: strided views checked against explicit slicing and Keras' own windowing."""

import numpy as np
import pytest

from dlcourse import dense as wn


@pytest.fixture
def series():
    rng = np.random.default_rng(0)
    return rng.standard_normal((50, 3)).astype(np.float32), np.arange(50)


@pytest.mark.parametrize("stride", [1, 3, 7])
def test_windows_match_slicing(series, stride):
    x, labels = series
    view, y = wn.windows_and_labels(x, labels, width=10, stride=stride)
    starts = range(0, 50 - 10 + 1, stride)
    np.testing.assert_array_equal(view, np.stack([x[s:s + 10] for s in starts]))
    np.testing.assert_array_equal(y, [labels[s + 9] for s in starts])


def test_view_shares_memory_and_is_read_only(series):
    x, _ = series
    view = wn.sliding_windows(x, 10)
    assert view.shape == (41, 10, 3)
    assert np.shares_memory(view, x)
    with pytest.raises(ValueError):
        view[0, 0, 0] = 1.0


def test_one_dimensional_series():
    view = wn.sliding_windows(np.arange(6), 3, stride=2)
    np.testing.assert_array_equal(view, [[0, 1, 2], [2, 3, 4]])


def test_buffer_nbytes(series):
    x, _ = series
    view = wn.sliding_windows(x, 10)
    assert view.nbytes == 41 * 10 * 3 * 4
    assert wn.buffer_nbytes(view) == x.nbytes
    assert wn.buffer_nbytes(np.ascontiguousarray(view)) == view.nbytes


def test_labels_agree_with_keras_windowing(series):
    keras = pytest.importorskip("keras")
    x, labels = series
    dataset = keras.utils.timeseries_dataset_from_array(
        x, labels[9:], sequence_length=10, batch_size=100, shuffle=False)
    kx, ky = next(iter(dataset))
    view, y = wn.windows_and_labels(x, labels, width=10)
    np.testing.assert_array_equal(view, kx.numpy())
    np.testing.assert_array_equal(y, ky.numpy())


def test_batches_cover_every_row_once(series):
    x, labels = series
    view, y = wn.windows_and_labels(x, labels, width=10)
    seen = np.concatenate([yb for _, yb in wn.batches(view, y, 8, seed=1)])
    assert sorted(seen) == list(y)
    first_x, first_y = next(wn.batches(view, y, 8, seed=1))
    np.testing.assert_array_equal(first_x[:, -1], x[first_y])  # label = last step


@pytest.mark.parametrize(("call", "message"), [
    (lambda: wn.sliding_windows(np.zeros((5, 2)), 6), "does not fit"),
    (lambda: wn.sliding_windows(np.zeros((5, 2)), 2, stride=0), "stride"),
    (lambda: wn.sliding_windows(np.zeros((5, 2, 2)), 2), r"\(T, C\)"),
    (lambda: wn.windows_and_labels(np.zeros((5, 2)), np.zeros(4), 2), "one label per"),
    (lambda: wn.window_labels(np.float64(3.0), 2), "scalar"),
])
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
