"""dlcourse.nets: the one SGD/Adam interface lessons 02 and 04 share, and the one softmax
cross-entropy. The optimisers are checked step by step against copies of the two pairs
they replace (``layers.SGD/Adam.step(model)`` and ``rnn.SGD/Adam.update``)."""

import numpy as np
import pytest
from scipy.special import logsumexp

from dlcourse import nets, rnn
from dlcourse.nets import gradcheck, layers

STEPS = 60


def least_squares_grads(params):
    """Gradients of ½‖A w − y‖² + ½‖B u − z‖² (fixed A, B, y, z) at params {"w", "u"}."""
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((8, 3)), rng.standard_normal((5, 2, 2))
    y, z = rng.standard_normal(8), rng.standard_normal(5)
    return {"w": a.T @ (a @ params["w"] - y),
            "u": np.einsum("nij,n->ij", b, np.einsum("nij,ij->n", b, params["u"]) - z)}


def start():
    return {"w": np.array([0.5, -1.0, 2.0]), "u": np.array([[1.0, 0.0], [-0.5, 0.25]])}


def trajectory(update):
    """The parameters after each of STEPS calls of update(params, grads)."""
    params, path = start(), []
    for _ in range(STEPS):
        update(params, least_squares_grads(params))
        path.append({k: v.copy() for k, v in params.items()})
    return path


def old_rnn_sgd(lr, decay_rate, decay_steps):
    """rnn.SGD before nets: p ← p − lr0 · rate^floor(t / every) · g."""
    t = 0

    def update(params, grads):
        nonlocal t
        step = lr * decay_rate ** np.floor(t / decay_steps)
        t += 1
        for k, g in grads.items():
            params[k] -= step * g
    return update


def old_layers_sgd(lr, momentum):
    """layers.SGD.step before nets: v ← μ v − lr g; p ← p + v."""
    velocity = {}

    def update(params, grads):
        for k, g in grads.items():
            v = velocity.setdefault(k, np.zeros_like(params[k]))
            v *= momentum
            v -= lr * g
            params[k] += v
    return update


def old_rnn_adam(lr, decay_rate, decay_steps, beta1=0.9, beta2=0.999, eps=1e-8):
    """rnn.Adam before nets: Algorithm 1 of Kingma & Ba with a smooth exponential decay."""
    m, v, t = {}, {}, 0

    def update(params, grads):
        nonlocal t
        step = lr * decay_rate ** (t / decay_steps)
        t += 1
        for k, g in grads.items():
            mk, vk = m.setdefault(k, np.zeros_like(g)), v.setdefault(k, np.zeros_like(g))
            mk *= beta1
            mk += (1 - beta1) * g
            vk *= beta2
            vk += (1 - beta2) * g * g
            params[k] -= step * (mk / (1 - beta1 ** t)) / (np.sqrt(vk / (1 - beta2 ** t)) + eps)
    return update


def old_layers_adam(lr, eps, beta1=0.9, beta2=0.999):
    """layers.Adam.step before nets: the bias corrections folded into one factor."""
    m, v, t = {}, {}, 0

    def update(params, grads):
        nonlocal t
        t += 1
        correction = np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        for k, g in grads.items():
            mk, vk = m.setdefault(k, np.zeros_like(g)), v.setdefault(k, np.zeros_like(g))
            mk += (1 - beta1) * (g - mk)
            vk += (1 - beta2) * (g * g - vk)
            params[k] -= (lr * correction) * mk / (np.sqrt(vk) + eps)
    return update


def assert_same_paths(new, old, rtol=0.0, atol=0.0):
    """Equal step by step: bit for bit unless a tolerance is given."""
    assert len(new) == len(old) == STEPS
    for a, b in zip(new, old, strict=True):
        for k in a:
            np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol)


def test_lessons_02_and_04_share_one_pair():
    assert rnn.SGD is nets.SGD and rnn.Adam is nets.Adam
    assert rnn.cross_entropy is nets.softmax_cross_entropy


def test_sgd_repeats_the_rnn_staircase_bit_for_bit():
    new = nets.SGD(0.02, decay_rate=0.5, decay_steps=7, staircase=True)
    assert_same_paths(trajectory(new.update), trajectory(old_rnn_sgd(0.02, 0.5, 7)))


def test_sgd_momentum_repeats_the_layers_step_bit_for_bit():
    new = nets.SGD(0.01, 0.9)
    assert_same_paths(trajectory(new.update), trajectory(old_layers_sgd(0.01, 0.9)))


def test_adam_repeats_the_rnn_adam_bit_for_bit():
    new = nets.Adam(0.05, decay_rate=0.8, decay_steps=10)
    assert_same_paths(trajectory(new.update), trajectory(old_rnn_adam(0.05, 0.8, 10)))


def test_adam_matches_the_layers_adam():
    """layers.Adam put eps beside √v, not √v̂: the same steps when eps = 0, a hair apart else."""
    assert_same_paths(trajectory(nets.Adam(0.05, eps=0.0).update),
                      trajectory(old_layers_adam(0.05, eps=0.0)), rtol=1e-12)
    assert_same_paths(trajectory(nets.Adam(0.05).update),
                      trajectory(old_layers_adam(0.05, eps=1e-8)), atol=1e-6)


@pytest.mark.parametrize("staircase, expected", [
    (False, [1.0, 0.5 ** (1 / 3), 0.5 ** (2 / 3), 0.5]), (True, [1.0, 1.0, 1.0, 0.5])])
def test_schedules(staircase, expected):
    for make in (nets.SGD, nets.Adam):
        opt, rates = make(1.0, decay_rate=0.5, decay_steps=3, staircase=staircase), []
        for _ in range(4):
            rates.append(opt.learning_rate())
            opt.update({"w": np.zeros(1)}, {"w": np.zeros(1)})
        np.testing.assert_allclose(rates, expected, rtol=1e-15)
    assert nets.Adam(0.1).learning_rate() == nets.SGD(0.1).learning_rate() == 0.1


def test_convnet_trains_through_its_params_and_grads():
    """The dicts hold the network's own arrays: an update changes the network in place."""
    net = layers.ConvNet(input_shape=(6, 6, 1), filters=2, seed=1)
    x, y = np.random.default_rng(0).random((4, 6, 6, 1)), np.array([0, 1, 2, 3])
    net.loss(x, y)
    net.backward()
    params, grads = net.params_and_grads()
    assert list(params) == list(grads) == [label for label, _, _ in net.parameters()]
    before = {k: p.copy() for k, p in params.items()}
    nets.SGD(0.1).update(params, grads)
    for label, layer, key in net.parameters():
        np.testing.assert_allclose(layer.params[key], before[label] - 0.1 * layer.grads[key],
                                   rtol=1e-6)


@pytest.mark.parametrize("kwargs, error", [
    ({"lr": 0.0}, ValueError), ({"lr": "fast"}, TypeError), ({"decay_rate": 1.5}, ValueError),
    ({"decay_steps": 0}, ValueError), ({"decay_steps": 2.5}, TypeError)])
def test_bad_optimizer_arguments(kwargs, error):
    for make in (nets.SGD, nets.Adam):
        with pytest.raises(error):
            make(**kwargs)
    with pytest.raises(ValueError):
        nets.SGD(momentum=1.0)
    with pytest.raises(ValueError):
        nets.Adam(beta2=1.0)


@pytest.mark.parametrize("shape", [(5, 4), (3, 6, 7)])
def test_softmax_cross_entropy_value_and_gradient(shape):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal(shape) * 3
    labels = rng.integers(0, shape[-1], shape[:-1])
    loss, dlogits = nets.softmax_cross_entropy(logits, labels)
    picked = np.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    assert loss == pytest.approx(np.mean(logsumexp(logits, axis=-1) - picked), rel=1e-12)
    assert dlogits.shape == shape
    error = gradcheck.gradient_error(lambda z: nets.softmax_cross_entropy(z, labels)[0],
                                     logits, dlogits)
    assert error < 1e-7


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    loss, dlogits = nets.softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0) and np.all(np.isfinite(dlogits))
    np.testing.assert_allclose(dlogits, [[1.0, -1.0]])


@pytest.mark.parametrize("logits, labels, error", [
    (np.zeros((2, 3)), np.array([0, 3]), ValueError),
    (np.zeros((2, 3)), np.array([0, -1]), ValueError),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError),
    (np.zeros((2, 3)), np.array([0, 1, 2]), ValueError),
    (np.float64(1.0), np.array(0), ValueError)])
def test_softmax_cross_entropy_bad_inputs(logits, labels, error):
    with pytest.raises(error):
        nets.softmax_cross_entropy(logits, labels)
