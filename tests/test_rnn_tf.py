"""The NumPy RNN against tf.GradientTape, and the TensorFlow models against the NumPy ones."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dlcourse import rnn
from dlcourse.rnn import tf_models

OPTIONS = [(a, c) for a in ("tanh", "relu") for c in ("sum", "concat")]


@pytest.mark.parametrize("activation,combine", OPTIONS)
def test_numpy_gradients_match_gradient_tape(activation, combine):
    rng = np.random.default_rng(0)
    V, H, N, T = 6, 8, 3, 7
    model = rnn.CharRNN.random(V, H, activation, combine, rng)
    inputs, targets = rng.integers(0, V, (N, T)), rng.integers(0, V, (N, T))
    h0 = 0.5 * rng.standard_normal((N, H))
    loss, grads, _ = model.loss_and_grads(inputs, targets, h0)

    tf_vars = {k: tf.Variable(v) for k, v in model.params.items()}
    f = tf.tanh if activation == "tanh" else tf.nn.relu
    with tf.GradientTape() as tape:
        h, logits = tf.constant(h0), []
        for t in range(T):
            xw = tf.one_hot(inputs[:, t], V, dtype=tf.float64) @ tf_vars["Wx"]
            hw = h @ tf_vars["Wh"]
            a = xw + hw if combine == "sum" else tf.concat([xw, hw], axis=1)
            h = f(a + tf_vars["b"])
            logits.append(h @ tf_vars["Wy"] + tf_vars["by"])
        tf_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=targets, logits=tf.stack(logits, axis=1)))
    tf_grads = tape.gradient(tf_loss, tf_vars)
    assert loss == pytest.approx(float(tf_loss), rel=1e-12)
    for k in model.params:
        np.testing.assert_allclose(grads[k], tf_grads[k].numpy(), rtol=1e-9, atol=1e-12)


def test_clip_matches_tensorflow():
    rng = np.random.default_rng(1)
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    ours, norm = rnn.clip_by_global_norm(grads, 1.5)
    theirs, tf_norm = tf.clip_by_global_norm([grads["a"], grads["b"]], 1.5)
    assert norm == pytest.approx(float(tf_norm))
    np.testing.assert_allclose(ours["a"], theirs[0].numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours["b"], theirs[1].numpy(), rtol=1e-12)


@pytest.mark.parametrize("activation,combine", OPTIONS)
def test_tf_arch1_matches_numpy_forward(activation, combine):
    V, H = 5, 6
    layer = tf_models.Arch1(V, H, activation, combine, seed=3)
    model = rnn.CharRNN({k: getattr(layer, k).numpy().astype(np.float64)
                         for k in ("Wx", "Wh", "b", "Wy", "by")}, activation, combine)
    inputs = np.random.default_rng(2).integers(0, V, (2, 4))
    logits, h_last = layer(inputs.astype(np.int32), layer.initial_state(2))
    np_logits, np_h_last = model.logits(inputs)
    np.testing.assert_allclose(logits.numpy(), np_logits, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h_last.numpy(), np_h_last, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["simple", "lstm"])
def test_tf_training_learns_a_pattern(kind):
    text = "abcd" * 300
    alpha = rnn.Alphabet.from_text(text)
    enc = alpha.encode(text)
    model = tf_models.KerasCharModel(len(alpha), 16, kind)
    hist = tf_models.train(model, rnn.BatchCursors(enc, 8, 8), keras.optimizers.Adam(2e-2),
                           steps=80, progress=False,
                           eval_fn=lambda m: tf_models.evaluate_bpc(m, enc[:200], 4, 10),
                           eval_every=1000)
    assert hist["eval_bpc"][-1] < 0.3 < hist["eval_bpc"][0]
    out = tf_models.sample(model, alpha.encode("ab"), 8, temperature=0.1, rng=0)
    assert alpha.decode(out) == "cdabcdab"


@pytest.mark.slow  # seconds: builds and runs a two-layer Keras LSTM
def test_stacked_layers_carry_their_own_state():
    """Two stacked LSTM layers: reading a window in two halves, with the state carried,
    gives the logits of reading it at once (each layer gets back its own h and c)."""
    model = tf_models.KerasCharModel(5, 8, "lstm", layers=2)
    inputs = np.random.default_rng(0).integers(0, 5, (3, 10)).astype(np.int32)
    whole, _ = model(inputs, model.initial_state(3))
    first, state = model(inputs[:, :4], model.initial_state(3))
    second, _ = model(inputs[:, 4:], state)
    assert len(state) == 2 and all(len(s) == 2 for s in state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)


@pytest.mark.slow  # seconds: builds and traces a Keras LSTM under each policy
def test_mixed_bfloat16_keeps_float32_logits():
    """Under mixed_bfloat16 the LSTM computes in bfloat16 but the scored logits are float32,
    and a training step runs with the float32 zero state and the bfloat16 carried one."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = tf_models.KerasCharModel(5, 8, "lstm", dropout=0.1)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    inputs = np.random.default_rng(0).integers(0, 5, (2, 7)).astype(np.int32)
    logits, state = model(inputs, model.initial_state(2))
    assert logits.dtype == tf.float32 and state[0][0].dtype == tf.bfloat16
    step = tf_models.make_train_step(model, keras.optimizers.Adam(1e-3))
    state = model.initial_state(2)  # float32 zeros first, then the carried bfloat16 state
    for _ in range(2):
        loss, norm, state = step(inputs, inputs, state)
        assert np.isfinite(float(loss)) and np.isfinite(float(norm))


@pytest.mark.parametrize("make_model", [lambda: tf_models.Arch1(5, 8),
                                        lambda: tf_models.KerasCharModel(5, 8, "simple")])
@pytest.mark.slow  # about a second or more: traces Keras training steps
def test_train_step_is_traced_once(make_model):
    """create_variables makes the model's and Adam's variables before the step is traced:
    a tf.function whose first call creates variables is traced twice."""
    model, optimizer = make_model(), keras.optimizers.Adam(1e-3)
    step = tf_models.make_train_step(model, optimizer)
    assert optimizer.built and model.trainable_variables
    inputs = np.random.default_rng(0).integers(0, 5, (2, 7)).astype(np.int32)
    state = model.initial_state(2)
    for _ in range(2):
        _, _, state = step(inputs, inputs, state)
    assert step.experimental_get_tracing_count() == 1


@pytest.mark.slow  # half a second or more
def test_keras_input_reach_matches_the_numpy_model_with_the_same_weights():
    """A Keras SimpleRNN is the NumPy tanh model: with its weights copied over, the
    gradient-tape reach equals the hand-written backward pass's."""
    V, units = 6, 5
    model = tf_models.KerasCharModel(V, units, "simple")
    ids = np.random.default_rng(0).integers(0, V, (4, 9))
    model(ids[:, :2], model.initial_state(4))  # builds the weights
    kernel, recurrent, bias = (w.numpy().astype(np.float64) for w in model.rnns[0].weights)
    dense_kernel, dense_bias = (w.numpy().astype(np.float64) for w in model.out.weights)
    numpy_model = rnn.CharRNN({"Wx": kernel, "Wh": recurrent, "b": bias, "Wy": dense_kernel,
                               "by": dense_bias})
    keras_reach = tf_models.input_gradient_reach(model, ids)
    assert keras_reach.shape == (8,) and keras_reach[0] == 1
    np.testing.assert_allclose(keras_reach, numpy_model.input_gradient_reach(ids), rtol=1e-4)


@pytest.mark.slow  # half a second or more
def test_an_lstm_reach_is_measured_through_its_cell_state():
    """With the recurrent kernel at zero, a SimpleRNN forgets at once (nothing reaches back
    one step); an LSTM still carries the input forward through its cell state."""
    ids = np.random.default_rng(1).integers(0, 6, (4, 6))
    reach = {}
    for kind in ("simple", "lstm"):
        model = tf_models.KerasCharModel(6, 5, kind)
        model(ids[:, :2], model.initial_state(4))
        recurrent = model.rnns[0].weights[1]
        recurrent.assign(tf.zeros_like(recurrent))
        reach[kind] = tf_models.input_gradient_reach(model, ids)
    assert np.all(reach["simple"][1:] == 0) and np.all(reach["lstm"][1:] > 1e-3)


@pytest.mark.slow  # about a second or more: traces and runs a Keras training step
def test_arch2_train_step_fits_a_fixed_batch():
    model, optimizer = tf_models.Arch2(4, 8), keras.optimizers.Adam(5e-2)
    step = tf_models.arch2_train_step(model, optimizer)
    x = np.array([[0], [1], [2], [3]], np.int32)
    losses = [float(step(x, x, (x + 1) % 4)) for _ in range(60)]
    assert losses[-1] < 0.1 * losses[0]
