"""Every layer's backward pass against central differences, in float64; the network trains."""

import numpy as np
import pytest

from dlcourse.nets import gradcheck, layers


def _rng(seed=0):
    return np.random.default_rng(seed)


def _check_layer(layer, x, tol=1e-7):
    """Gradient-check dL/dx and dL/dparams of a layer (float64)."""
    errors = layers.gradient_errors(layer, x)
    assert set(errors) == {"x", *layer.params}
    assert max(errors.values()) < tol, errors
    return errors


@pytest.mark.parametrize("stride, padding, shape, kernel, c_out", [
    (1, "VALID", (2, 6, 5, 3), 3, 4),
    (2, "SAME", (3, 7, 6, 2), 3, 2),
    (3, 1, (1, 8, 8, 1), 2, 3),
])
def test_conv2d_layer(stride, padding, shape, kernel, c_out):
    layer = layers.Conv(shape[-1], c_out, kernel, stride, padding, rng=_rng(1),
                          dtype=np.float64)
    layer.params["b"] = _rng(2).standard_normal(c_out)
    _check_layer(layer, _rng(3).standard_normal(shape))


def test_relu_layer_away_from_the_kink():
    x = _rng(4).standard_normal((3, 4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # finite differences straddling 0 would see the kink
    _check_layer(layers.ReLU(), x)
    out = layers.ReLU().forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))


def test_flatten_layer():
    x = _rng(5).standard_normal((2, 3, 4, 5))
    layer = layers.Flatten()
    assert layer.forward(x).shape == (2, 60)
    _check_layer(layer, x)


def test_dense_layer():
    layer = layers.Affine(7, 4, rng=_rng(6), dtype=np.float64)
    layer.params["b"] = _rng(7).standard_normal(4)
    _check_layer(layer, _rng(8).standard_normal((5, 7)))


def test_softmax_cross_entropy_value_and_gradient():
    logits = _rng(9).standard_normal((6, 5)) * 3
    labels = np.array([0, 4, 2, 2, 1, 3])
    ce = layers.SoftmaxCrossEntropy()
    loss = ce.forward(logits, labels)
    # Reference: log of a plainly computed softmax.
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(probs[np.arange(6), labels])), rel=1e-12)
    grad = ce.backward()
    err = gradcheck.gradient_error(lambda z: ce.forward(z, labels), logits, grad)
    assert err < 1e-7
    # Stable for huge logits.
    assert np.isfinite(ce.forward(logits * 1e4, labels))


def test_whole_network_gradient_in_float64():
    net = layers.ConvNet(input_shape=(7, 6, 2), filters=3, classes=4, seed=1, dtype=np.float64)
    for _, layer, key in net.parameters():  # non-zero biases so their gradients are tested
        if key == "b":
            layer.params[key][:] = _rng(10).uniform(0.05, 0.2, layer.params[key].shape)
    x = _rng(11).standard_normal((3, 7, 6, 2))
    labels = np.array([0, 3, 1])
    net.loss(x, labels)
    dx = net.backward()
    grads = {label: layer.grads[key].copy() for label, layer, key in net.parameters()}
    f = lambda _: net.loss(x, labels)  # noqa: E731
    assert gradcheck.gradient_error(f, x, dx) < 1e-6
    for label, layer, key in net.parameters():
        err = gradcheck.gradient_error(f, layer.params[key], grads[label])
        assert err < 1e-6, (label, err)


def test_convnet_shapes():
    net = layers.ConvNet(seed=0)
    assert [label for label, _, _ in net.parameters()] == [
        "0.Conv.w", "0.Conv.b", "2.Conv.w", "2.Conv.b", "5.Affine.w", "5.Affine.b"]
    assert net.layers[5].params["w"].shape == (24 * 24 * 32, 10)
    assert net.layers[2].params["w"].shape == (3, 3, 32, 32)
    assert net.forward(np.zeros((2, 28, 28, 1))).shape == (2, 10)


@pytest.mark.parametrize("make_optimizer", [lambda: layers.Adam(1e-2),
                                            lambda: layers.SGD(0.05, 0.9)])
def test_loss_decreases_on_a_tiny_batch(make_optimizer):
    net = layers.ConvNet(input_shape=(8, 8, 1), filters=4, seed=2)
    rng = _rng(12)
    x = rng.random((16, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    losses = layers.train(net, make_optimizer(), x, y, epochs=30, batch_size=16,
                          progress=False)
    assert len(losses) == 30
    assert losses[-1] < 0.5 * losses[0], losses
    assert layers.accuracy(net, x, y) > 0.8  # it memorises 16 random labels


def test_train_visits_batches_and_calls_on_epoch():
    net = layers.ConvNet(input_shape=(6, 6, 1), filters=2, seed=3)
    seen = []
    losses = layers.train(net, layers.SGD(0.01), np.zeros((10, 6, 6, 1)), np.zeros(10, int),
                          epochs=2, batch_size=4, progress=False, on_epoch=seen.append)
    assert len(losses) == 6 and seen == [0, 1]


def test_gradient_errors_catches_a_wrong_backward():
    class Doubled(layers.ReLU):
        def backward(self, dout):
            return 2 * super().backward(dout)

    x = _rng(13).uniform(0.1, 1.0, (4, 3))
    assert layers.gradient_errors(Doubled(), x)["x"] > 0.1


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"Conv input must be a 4-D array \(N, H, W, C\)"):
        layers.Conv(1, 2).forward(np.zeros((5, 5, 1)))
    with pytest.raises(ValueError, match=r"\(N, 3\), got shape \(4, 5\)"):
        layers.Affine(3, 2).forward(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"2-D array \(N, 3\), got shape \(3,\)"):
        layers.Affine(3, 2).forward(np.zeros(3))
    with pytest.raises(TypeError, match="NumPy array"):
        layers.Affine(3, 2).forward([[1.0, 2.0, 3.0]])
    ce = layers.SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match=r"lie in \[0, 3\)"):
        ce.forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(TypeError, match="integers"):
        ce.forward(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        layers.train(layers.ConvNet((6, 6, 1), 2), layers.SGD(), np.zeros((2, 6, 6, 1)),
                     np.zeros(2, int), batch_size=0, progress=False)
    with pytest.raises(ValueError, match="examples"):
        layers.train(layers.ConvNet((6, 6, 1), 2), layers.SGD(), np.zeros((3, 6, 6, 1)),
                     np.zeros(2, int), progress=False)


@pytest.mark.parametrize("bad, error", [("abc", TypeError), (True, TypeError), (2.0, TypeError),
                                        (-1, ValueError)])
def test_every_seed_argument_is_checked(bad, error):
    # issue #26 item 18: NumPy's SeedSequence errors (or a bool taken as 1) before
    x, y = np.zeros((2, 6, 6, 1)), np.zeros(2, int)
    with pytest.raises(error, match="seed"):
        layers.ConvNet((6, 6, 1), 2, seed=bad)
    with pytest.raises(error, match="seed"):
        layers.train(layers.ConvNet((6, 6, 1), 2), layers.SGD(), x, y, seed=bad, progress=False)
    with pytest.raises(error, match="seed"):
        layers.gradient_errors(layers.ReLU(), np.ones((2, 3)), seed=bad)
