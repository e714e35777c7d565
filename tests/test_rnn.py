"""The NumPy RNN, the CharRNN model, its text helpers and trainer, against finite differences
and plain formulas."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy.special import log_softmax

from dlcourse import rnn
from dlcourse.nets import gradcheck
from dlcourse.rnn import plots

N, T, D, H = 3, 5, 4, 6
TOL = 1e-7  # relative error of analytic vs central-difference gradients, float64


def _weights(combine, seed=0):
    rng = np.random.default_rng(seed)
    Wx, Wh, b = rnn.init_weights(D, H, combine, rng)
    b += 0.1 * rng.standard_normal(H)
    return Wx, Wh, b


def _inputs(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, T, D)), rng.standard_normal((N, H))


OPTIONS = [(a, c) for a in rnn.numpy_rnn.ACTIVATIONS for c in rnn.numpy_rnn.COMBINES]


@pytest.mark.parametrize("activation,combine", OPTIONS)
def test_step_forward_matches_formula(activation, combine):
    Wx, Wh, b = _weights(combine)
    x, h0 = _inputs()
    h, _ = rnn.step_forward(x[:, 0], h0, Wx, Wh, b, activation, combine)
    if combine == "sum":
        a = x[:, 0] @ Wx + h0 @ Wh + b
    else:  # the block-diagonal weight on [x, h_prev] is the same map
        W = np.zeros((D + H, H))
        W[:D, :Wx.shape[1]] = Wx
        W[D:, Wx.shape[1]:] = Wh
        a = np.hstack([x[:, 0], h0]) @ W + b
    expected = np.tanh(a) if activation == "tanh" else np.where(a > 0, a, 0)
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation,combine", OPTIONS)
def test_step_backward_against_finite_differences(activation, combine):
    Wx, Wh, b = _weights(combine)
    x, h0 = _inputs()
    arrays = {"x": x[:, 0].copy(), "h_prev": h0, "Wx": Wx, "Wh": Wh, "b": b}
    proj = np.random.default_rng(2).standard_normal((N, H))

    def output():
        return rnn.step_forward(*arrays.values(), activation, combine)[0]

    _, cache = rnn.step_forward(*arrays.values(), activation, combine)
    grads = dict(zip(arrays, rnn.step_backward(proj, cache), strict=True))
    errors = gradcheck.projected_errors(output, arrays, grads, proj)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("activation,combine", OPTIONS)
def test_unrolled_backward_against_finite_differences(activation, combine):
    Wx, Wh, b = _weights(combine)
    x, h0 = _inputs()
    arrays = {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b}
    proj = np.random.default_rng(3).standard_normal((N, T, H))

    def output():
        return rnn.forward(*arrays.values(), activation, combine)[0]

    h, cache = rnn.forward(*arrays.values(), activation, combine)
    assert h.shape == (N, T, H)
    grads = dict(zip(arrays, rnn.backward(proj, cache), strict=True))
    errors = gradcheck.projected_errors(output, arrays, grads, proj)
    assert max(errors.values()) < TOL, errors


def test_forward_equals_repeated_steps():
    Wx, Wh, b = _weights("sum")
    x, h = _inputs()
    hs, _ = rnn.forward(x, h, Wx, Wh, b)
    for t in range(T):
        h, _ = rnn.step_forward(x[:, t], h, Wx, Wh, b)
        np.testing.assert_array_equal(hs[:, t], h)


@pytest.mark.parametrize("activation,combine", OPTIONS)
def test_model_loss_gradients(activation, combine):
    rng = np.random.default_rng(4)
    V = 7
    model = rnn.CharRNN.random(V, H, activation, combine, rng)
    inputs, targets = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    h0 = 0.3 * rng.standard_normal((N, H))
    _, grads, h_last = model.loss_and_grads(inputs, targets, h0)
    for k, p in model.params.items():
        err = gradcheck.gradient_error(
            lambda _: model.loss_and_grads(inputs, targets, h0)[0], p, grads[k])
        assert err < TOL, f"{k}: relative error {err:.2e}"
    hs, _ = rnn.forward(rnn.one_hot(inputs, V), h0, model.params["Wx"], model.params["Wh"],
                        model.params["b"], activation, combine)
    np.testing.assert_array_equal(h_last, hs[:, -1])  # the model's own activation and combine


def test_model_logits_are_the_recurrence_then_the_output_layer():
    model = rnn.CharRNN.random(5, H, "relu", "concat", rng=0, dtype=np.float32)
    inputs = np.random.default_rng(1).integers(0, 5, (2, T))
    p = model.params
    hs, _ = rnn.forward(rnn.one_hot(inputs, 5, np.float32), np.zeros((2, H), np.float32),
                        p["Wx"], p["Wh"], p["b"], "relu", "concat")
    logits, h_last = model.logits(inputs)
    assert logits.dtype == np.float32 and model.dtype == np.float32
    np.testing.assert_array_equal(logits, rnn.output_forward(hs, p["Wy"], p["by"]))
    np.testing.assert_array_equal(h_last, hs[:, -1])


def test_model_random_weights_follow_the_seed_and_the_generator():
    a, b = rnn.CharRNN.random(5, 4, rng=3), rnn.CharRNN.random(5, 4, rng=3)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    gen = np.random.default_rng(3)
    c = rnn.CharRNN.random(5, 4, rng=gen)  # a Generator's draws continue after the weights
    np.testing.assert_array_equal(c.params["Wy"], a.params["Wy"])
    assert gen.integers(1 << 30) != np.random.default_rng(3).integers(1 << 30)
    assert (a.vocab, a.hidden, a.activation, a.combine) == (5, 4, "tanh", "sum")


def test_model_refuses_bad_weights_and_arguments():
    params = rnn.CharRNN.random(5, 4, rng=0).params
    with pytest.raises(ValueError, match="keys"):
        rnn.CharRNN({k: v for k, v in params.items() if k != "by"})
    with pytest.raises(TypeError, match="float"):
        rnn.CharRNN({**params, "by": np.zeros(5, dtype=int)})
    with pytest.raises(ValueError, match="Wy must be"):
        rnn.CharRNN({**params, "Wy": np.zeros((4, 6))})
    with pytest.raises(ValueError, match="activation"):
        rnn.CharRNN(params, activation="sigmoid")
    with pytest.raises(ValueError, match="combine"):
        rnn.CharRNN.random(5, 4, combine="product")
    with pytest.raises(ValueError, match="rng"):
        rnn.CharRNN.random(5, 4, rng=-1)
    model = rnn.CharRNN(params)
    assert model.params is params  # kept, so an optimiser's update reaches the caller's dict
    encoded = np.arange(100) % 5
    for bad, error, name in ((0, ValueError, "temperature"), (float("nan"), ValueError,
                             "temperature"), ("1", TypeError, "temperature")):
        with pytest.raises(error, match=name):
            model.evaluate_bpc(encoded, temperature=bad)
        with pytest.raises(error, match=name):
            model.sample([0], 3, temperature=bad)
    with pytest.raises(ValueError, match="streams"):
        model.evaluate_bpc(encoded, streams=0)
    with pytest.raises(ValueError, match="too short"):
        model.evaluate_bpc(encoded[:10], streams=32)
    with pytest.raises(TypeError, match="unroll"):
        model.evaluate_bpc(encoded, unroll=2.5)
    with pytest.raises(ValueError, match="length"):
        model.sample([0], -1)


def test_gradient_reach_matches_backward():
    Wx, Wh, b = _weights("sum")
    x, h0 = _inputs()
    _, cache = rnn.forward(x, h0, Wx, Wh, b)
    dlast = np.random.default_rng(5).standard_normal((N, H))
    dh = np.zeros((N, T, H))
    dh[:, -1] = dlast
    norms = rnn.gradient_reach(dlast, cache)
    assert norms.shape == (T + 1,)
    assert norms[0] == pytest.approx(np.linalg.norm(dlast))
    assert norms[-1] == pytest.approx(np.linalg.norm(rnn.backward(dh, cache)[1]))


def test_bad_shapes_and_options_raise_clear_errors():
    Wx, Wh, b = _weights("sum")
    x, h0 = _inputs()
    with pytest.raises(ValueError, match="features"):
        rnn.step_forward(x[:, 0, :3], h0, Wx, Wh, b)
    with pytest.raises(ValueError, match="h_prev"):
        rnn.step_forward(x[:, 0], h0[:, :2], Wx, Wh, b)
    with pytest.raises(ValueError, match="activation"):
        rnn.forward(x, h0, Wx, Wh, b, activation="sigmoid")
    with pytest.raises(ValueError, match="H1 \\+ H2"):
        rnn.forward(x, h0, Wx, Wh, b, combine="concat")
    with pytest.raises(ValueError, match="3 dimensions"):
        rnn.forward(x[:, 0], h0, Wx, Wh, b)
    with pytest.raises(TypeError, match="NumPy array"):
        rnn.step_forward(x[:, 0].tolist(), h0, Wx, Wh, b)
    _, cache = rnn.forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match="dh must have shape"):
        rnn.backward(np.zeros((N, T + 1, H)), cache)


def test_integer_inputs_are_computed_in_float64_by_step_and_loop_alike():
    # issue #26 item 8: the loop stored tanh(3) = 0.995 into an int array as 0
    x, h0 = np.ones((2, 3, 1), dtype=int), np.zeros((2, 1), dtype=int)
    Wx, Wh, b = np.full((1, 1), 3), np.ones((1, 1), dtype=int), np.zeros(1, dtype=int)
    hs, _ = rnn.forward(x, h0, Wx, Wh, b)
    h1, _ = rnn.step_forward(x[:, 0], h0, Wx, Wh, b)
    assert hs.dtype == h1.dtype == np.float64
    np.testing.assert_allclose(hs[:, 0], np.tanh(3.0), rtol=1e-15)
    np.testing.assert_array_equal(hs[:, 0], h1)
    float_hs, _ = rnn.forward(x.astype(float), h0.astype(float), Wx * 1.0, Wh * 1.0, b * 1.0)
    np.testing.assert_array_equal(hs, float_hs)


def test_public_functions_name_the_argument_that_is_wrong():
    # issue #26 item 18: raw IndexError / TypeError / a complaint about h_split or h_prev
    Wx, Wh, b = _weights("sum")
    x, h0 = _inputs()
    with pytest.raises(ValueError, match="T >= 1"):
        rnn.forward(x[:, :0], h0, Wx, Wh, b)
    with pytest.raises(TypeError, match="cache"):
        rnn.step_backward(np.zeros((N, H)), None)
    with pytest.raises(TypeError, match="cache"):
        rnn.backward(np.zeros((N, T, H)), None)
    with pytest.raises(TypeError, match="x must be a NumPy array"):
        rnn.forward(None, h0, Wx, Wh, b)
    with pytest.raises(TypeError, match="D must be an integer"):
        rnn.init_weights(2.5, H)
    with pytest.raises(TypeError, match="H must be an integer"):
        rnn.init_weights(D, 6.0)
    with pytest.raises(ValueError, match="H must be at least 2") as concat_error:
        rnn.init_weights(3, 1, combine="concat")
    assert "h_split" not in str(concat_error.value)
    with pytest.raises(TypeError, match="h_split"):
        rnn.init_weights(3, 4, combine="concat", h_split=1.5)
    with pytest.raises(ValueError, match="h0 must have shape") as h0_error:
        rnn.forward(x, h0[:2], Wx, Wh, b)
    assert "h_prev" not in str(h0_error.value)


@pytest.mark.slow
def test_tf_models_refuse_a_bad_seed():
    tf_models = pytest.importorskip("dlcourse.rnn.tf_models")
    for bad, error in (("abc", TypeError), (True, TypeError), (-1, ValueError)):
        with pytest.raises(error, match="seed"):
            tf_models.Arch1(5, 4, seed=bad)
        with pytest.raises(error, match="seed"):
            tf_models.train_arch2(None, [1, 2, 3], None, steps=1, seed=bad)


# --- text --------------------------------------------------------------------------------

def test_clean_text8():
    assert rnn.clean_text8("Hello, World!  It's here.") == "hello world it s here "
    assert set(rnn.clean_text8("Ça va? Ünïcode--OK")) <= set(rnn.TEXT8_ALPHABET)
    assert "  " not in rnn.clean_text8("a  \n\t b..c")
    assert len(rnn.Alphabet.text8()) == 27


def test_clean_text8_spells_digits_as_words_like_wikifil():
    # text8's cleaning (wikifil.pl) turns each digit into a word: the post's sample
    # "one five three" comes from a number, not from dropped digits
    assert rnn.clean_text8("In 1953, 2 ships.") == "in one nine five three two ships "
    assert rnn.clean_text8("0-9") == " zero nine "


def test_alphabet_round_trip_and_errors():
    text = "First Citizen:\nBefore we proceed"
    alpha = rnn.Alphabet.from_text(text)
    assert alpha.symbols == "".join(sorted(set(text)))
    idx = alpha.encode(text)
    assert alpha.decode(idx) == text
    assert [alpha.symbols[i] for i in idx] == list(text)
    with pytest.raises(ValueError, match="not in the alphabet"):
        alpha.encode("Zebra!")
    with pytest.raises(ValueError, match="empty"):
        alpha.encode("")
    with pytest.raises(ValueError, match="empty"):
        rnn.Alphabet.from_text("")
    with pytest.raises(ValueError, match="distinct"):
        rnn.Alphabet("abca")
    with pytest.raises(ValueError, match="lie in"):
        alpha.decode([0, 99])


def test_one_hot():
    got = rnn.one_hot(np.array([[2, 0], [1, 1]]), 3)
    assert got.shape == (2, 2, 3)
    np.testing.assert_array_equal(got, np.eye(3)[[[2, 0], [1, 1]]])
    with pytest.raises(ValueError):
        rnn.one_hot([3], 3)


def test_batch_cursors_spacing_targets_and_continuation():
    encoded = np.arange(103)
    cur = rnn.BatchCursors(encoded, batch_size=4, unroll=5)
    np.testing.assert_array_equal(cur.starts, [0, 25, 50, 75])
    x1, y1 = cur.next()
    x2, _ = cur.next()
    assert x1.shape == y1.shape == (4, 5)
    np.testing.assert_array_equal(x1[:, 0], [0, 25, 50, 75])
    np.testing.assert_array_equal(y1[:, :-1], x1[:, 1:])  # targets are inputs shifted by one
    np.testing.assert_array_equal(x2[:, 0], y1[:, -1])  # the next window continues the stream
    for _ in range(30):  # wraps around the end of the text
        x, y = cur.next()
        np.testing.assert_array_equal(y, (x + 1) % 103)


def test_batch_cursors_bad_input():
    with pytest.raises(ValueError, match="too large"):
        rnn.BatchCursors(np.arange(100), batch_size=10, unroll=10)
    with pytest.raises(ValueError, match="batch_size"):
        rnn.BatchCursors(np.arange(100), batch_size=100, unroll=1)
    with pytest.raises(ValueError, match="unroll"):
        rnn.BatchCursors(np.arange(100), batch_size=2, unroll=0)
    with pytest.raises(TypeError, match="batch_size"):
        rnn.BatchCursors(np.arange(100), batch_size=2.0, unroll=3)
    with pytest.raises(ValueError, match="integer"):
        rnn.BatchCursors(np.zeros(100), batch_size=2, unroll=3)


def test_parallel_streams():
    chars = rnn.parallel_streams(np.arange(11), 3)  # (11 - 1) // 3 = 3 steps per stream
    np.testing.assert_array_equal(chars, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])


def test_split_text():
    train, held = rnn.split_text("x" * 90 + "y" * 10)
    assert train == "x" * 90 and held == "y" * 10
    with pytest.raises(ValueError):
        rnn.split_text("abc", held_out=1.0)


# --- loss, clipping, optimisers, sampling, baselines -----------------------------------------

def test_cross_entropy_against_scipy_and_gradient():
    rng = np.random.default_rng(6)
    logits, targets = rng.standard_normal((2, 3, 5)), rng.integers(0, 5, (2, 3))
    loss, dlogits = rnn.cross_entropy(logits, targets)
    ref = -np.take_along_axis(log_softmax(logits, axis=-1), targets[..., None], -1).mean()
    assert loss == pytest.approx(ref, rel=1e-12)
    assert rnn.cross_entropy_bits(logits, targets) == pytest.approx(ref / math.log(2))
    err = gradcheck.gradient_error(lambda z: rnn.cross_entropy(z, targets)[0], logits, dlogits)
    assert err < TOL


def test_uniform_logits_cost_log2_v_bits():
    assert rnn.cross_entropy_bits(np.zeros((4, 65)), np.arange(4)) == pytest.approx(math.log2(65))


def test_clip_by_global_norm():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    clipped, norm = rnn.clip_by_global_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(clipped["a"], [0.6, 0.0])
    np.testing.assert_allclose(clipped["b"], [[0.8]])
    same, _ = rnn.clip_by_global_norm(grads, 10.0)
    np.testing.assert_array_equal(same["a"], grads["a"])
    with pytest.raises(ValueError, match="max_norm"):
        rnn.clip_by_global_norm(grads, 0.0)


def test_sgd_decay_and_adam_first_step():
    sgd = rnn.SGD(2.5, decay_rate=0.1, decay_steps=10, staircase=True)
    p = {"w": np.array([1.0])}
    rates = []
    for _ in range(21):
        rates.append(sgd.learning_rate())
        sgd.update(p, {"w": np.array([0.0])})
    assert rates[0] == rates[9] == 2.5 and rates[10] == pytest.approx(0.25)
    assert rates[20] == pytest.approx(0.025)
    adam = rnn.Adam(lr=0.01)
    p = {"w": np.array([1.0, -1.0])}
    adam.update(p, {"w": np.array([5.0, -0.001])})  # first Adam step is lr * sign(g)
    np.testing.assert_allclose(p["w"], [0.99, -0.99], rtol=1e-4)


def test_softmax_temperature():
    z = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(rnn.softmax(z), np.exp(z) / np.exp(z).sum())
    assert rnn.softmax(z, 0.01)[2] > 0.999
    np.testing.assert_allclose(rnn.softmax(z, 1e6), np.full(3, 1 / 3), rtol=1e-5)
    with pytest.raises(ValueError):
        rnn.softmax(z, 0)


def test_sample_low_temperature_follows_argmax():
    V = 5
    model = rnn.CharRNN.random(V, 4, rng=0)
    model.params["Wy"][:] = 0
    model.params["by"][:] = [0, 0, 5, 0, 0]
    out = model.sample([0, 1], 20, temperature=0.05, rng=0)
    assert out.shape == (20,) and (out == 2).all()


def test_ngram_against_brute_force():
    rng = np.random.default_rng(7)
    train, test = rng.integers(0, 3, 200), rng.integers(0, 3, 50)
    for order, alpha in ((2, 0.1), (3, 0.5)):
        total = 0.0
        for i in range(order - 1, len(test)):
            ctx = tuple(test[i - order + 1:i])
            n_ctx = sum(tuple(train[j:j + order - 1]) == ctx for j in range(len(train) - order + 1))
            n_pair = sum(tuple(train[j:j + order]) == ctx + (test[i],)
                         for j in range(len(train) - order + 1))
            total -= math.log2((n_pair + alpha) / (n_ctx + 3 * alpha))
        assert rnn.ngram_bpc(train, test, 3, order, alpha) == pytest.approx(
            total / (len(test) - order + 1))
    counts = np.bincount(train, minlength=3) + 1
    assert rnn.unigram_bpc(train, test, 3) == pytest.approx(
        -np.log2(counts[test] / counts.sum()).mean())
    with pytest.raises(ValueError, match="order"):
        rnn.ngram_bpc(train, test, 3, order=0)
    with pytest.raises(ValueError, match="alpha"):
        rnn.ngram_bpc(train, test, 3, alpha=0.0)


def test_training_lowers_held_out_loss():
    rng = np.random.default_rng(8)
    text = "".join(rng.choice(["abc ", "abd ", "xyz "], size=400))
    alpha = rnn.Alphabet.from_text(text)
    enc = alpha.encode(text)
    model = rnn.CharRNN.random(len(alpha), 16, rng=0)
    before = model.evaluate_bpc(enc[-300:], streams=4, unroll=20)
    rnn.train(model, rnn.BatchCursors(enc[:-300], 8, 10), rnn.Adam(1e-2), steps=150,
              progress=False)
    after = model.evaluate_bpc(enc[-300:], streams=4, unroll=20)
    assert after < before - 1.0 and after < rnn.unigram_bpc(enc[:-300], enc[-300:], len(alpha))


def test_training_resets_the_carried_state_every_k_windows(monkeypatch):
    seen = []
    model = rnn.CharRNN.random(5, 3, rng=0)

    def spy(inputs, targets, h0):
        seen.append(float(np.abs(h0).sum()))
        grads = {k: np.zeros_like(v) for k, v in model.params.items()}
        return 1.0, grads, h0 + 1.0  # the "new state" grows by one every window

    # a spy on the loop's one call per window (a white-box test of the state it carries)
    monkeypatch.setattr(model, "loss_and_grads", spy)
    cursors = rnn.BatchCursors(np.arange(200) % 5, 2, 4)
    rnn.train(model, cursors, rnn.Adam(1e-3), steps=7, progress=False, reset_every=3)
    assert seen == [0.0, 6.0, 12.0, 0.0, 6.0, 12.0, 0.0]  # B·H = 6 per window since a reset
    for bad in ({"reset_every": 0}, {"eval_every": 0}, {"clip": -1.0}, {"steps": -1},
                {"steps": None}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            rnn.train(model, cursors, rnn.Adam(1e-3), **{"steps": 2, **bad}, progress=False)


def test_load_text8_reads_the_zip_and_splits(tmp_path, monkeypatch):
    import zipfile

    from dlcourse import data
    path = tmp_path / "text8.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("text8", " anarchism originated as a term")
    monkeypatch.setattr(data, "fetch_one", lambda dataset, file, download=True: path)
    assert rnn.load_text8(split=False) == " anarchism originated as a term"
    train, valid, test = rnn.load_text8()
    assert train == " anarchism originated as a term" and valid == test == ""


def test_load_text8_missing_raises_missing_data_error(data_cache):
    from dlcourse import data
    with pytest.raises(data.MissingDataError, match="text8"):
        rnn.load_text8(download=False)


# --- how far back the gradient reaches, and the lesson's figures -------------------------

def test_input_gradient_reach_matches_finite_differences():
    """The ratios come from ‖∂L/∂x_t‖ with L the loss of the last prediction only: checked
    against central differences of that loss in every input, the one-hot rows made real."""
    rng = np.random.default_rng(4)
    V, hidden, steps = 5, 7, 6
    model = rnn.CharRNN.random(V, hidden, rng=rng)
    p = model.params
    ids = rng.integers(0, V, (3, steps + 1))

    def last_loss(x):
        hs, _ = rnn.forward(x, np.zeros((3, hidden)), p["Wx"], p["Wh"], p["b"])
        logits = rnn.output_forward(hs[:, -1:], p["Wy"], p["by"])
        return rnn.cross_entropy(logits, ids[:, -1:])[0]

    grad = gradcheck.numerical_gradient(last_loss, rnn.one_hot(ids[:, :-1], V))
    norms = np.linalg.norm(grad, axis=(0, 2))[::-1]
    np.testing.assert_allclose(model.input_gradient_reach(ids), norms / norms[0], rtol=1e-6)
    with pytest.raises(ValueError, match="ids"):
        model.input_gradient_reach(ids[:, :1])


def _overlaps(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.slow  # seconds: renders the whole cursor figure
def test_cursor_figure_legend_leaves_the_axis_label_visible():
    ax = plots.draw_cursors("abcdefghij" * 40, batch_size=5, unroll=12, windows=3, width=40)
    ax.figure.canvas.draw()  # the legend is placed when drawn
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    for text in [ax.xaxis.label, ax.title, *ax.get_xticklabels()]:
        assert not _overlaps(legend, text.get_window_extent(renderer)), text.get_text()
    plt.close(ax.figure)


def test_unroll_length_axis_labels_each_length_once_without_overlap():
    unrolls = [5, 10, 20, 40, 80]
    ax = plots.plot_unroll_lengths(unrolls, {"tanh": [3.4, 3.3, 3.2, 3.1, 3.0]})
    ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = [t for t in ax.get_xticklabels(minor=False) + ax.get_xticklabels(minor=True)
              if t.get_visible() and t.get_text()]
    assert [t.get_text() for t in labels] == [str(u) for u in unrolls]
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(_overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(ax.figure)

