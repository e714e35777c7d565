"""The character models in TensorFlow 2 / Keras 3, and a truncated-BPTT training loop.

- :class:`Arch1`: the NumPy recurrence of :mod:`dlcourse.rnn.numpy_rnn` written with
  TensorFlow ops (hidden state fed back; ``combine`` "sum" or "concat"; tanh or relu),
  unrolled over the window inside one ``tf.function``.
- :class:`KerasCharModel`: the same task with a Keras layer (``SimpleRNN``, ``LSTM``
  or ``GRU``): the reference and the gated baselines.
- :class:`Arch2`: the previous *output* fed back instead of the hidden state. Trained
  with teacher forcing, the fed-back output is the true previous target, which in a
  language model is the current input character: the model is then a function of one
  character, a Markov chain of order 1 at most, and trains without any BPTT.

Every model maps ``(inputs (B, T) int32, state)`` to ``(logits (B, T, V), state)``;
:func:`train` carries the state from window to window with ``tf.stop_gradient``
(the state crosses windows, its gradient does not) and clips by global norm.
"""

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from ..core import validate
from .model import nats_to_bits
from .numpy_rnn import check_options
from .text import parallel_streams
from .training import training_loop


class Arch1(keras.layers.Layer):
    """Vanilla RNN language model: h_t = f(x_t Wx + h_{t-1} Wh + b), logits = h_t Wy + by.

    ``combine="concat"`` uses h_t = f([x_t Wx, h_{t-1} Wh] + b) with Wx (V, H1),
    Wh (H, H - H1). One-hot x_t times Wx is a row lookup, done with ``tf.gather``.
    """

    def __init__(self, vocab: int, hidden: int, activation: str = "tanh",
                 combine: str = "sum", h_split: int | None = None, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        check_options(activation, combine)
        self.vocab, self.hidden, self.activation, self.combine = vocab, hidden, activation, combine
        h1 = hidden if combine == "sum" else (hidden // 2 if h_split is None else h_split)
        h2 = hidden if combine == "sum" else hidden - h1
        rng = np.random.default_rng(validate.seed("seed", seed))
        self.Wx = self._weight("Wx", rng.standard_normal((vocab, h1)) * 0.1)
        self.Wh = self._weight("Wh", rng.standard_normal((hidden, h2)) / np.sqrt(hidden))
        self.b = self._weight("b", np.zeros(hidden))
        self.Wy = self._weight("Wy", rng.standard_normal((hidden, vocab)) / np.sqrt(hidden))
        self.by = self._weight("by", np.zeros(vocab))

    def _weight(self, name, value):
        return self.add_weight(name=name, shape=value.shape,
                               initializer=keras.initializers.Constant(value.astype(np.float32)))

    def initial_state(self, batch: int):
        return tf.zeros((batch, self.hidden))

    def call(self, inputs, state, training=False):
        f = tf.tanh if self.activation == "tanh" else tf.nn.relu
        xw = tf.gather(self.Wx, inputs)  # (B, T, H1): one-hot times Wx
        h, outs = state, []
        for t in range(inputs.shape[1]):
            hw = tf.matmul(h, self.Wh)
            a = xw[:, t] + hw if self.combine == "sum" else tf.concat([xw[:, t], hw], axis=1)
            h = f(a + self.b)
            outs.append(h)
        hs = tf.stack(outs, axis=1)
        return tf.tensordot(hs, self.Wy, 1) + self.by, h


class KerasCharModel(keras.Model):
    """One-hot → ``layers`` stacked Keras recurrent layers (``"simple"``, ``"lstm"`` or
    ``"gru"``) → Dense.

    ``call(inputs, state)``: inputs (B, T) int, or (B, T, vocab) float one-hot rows (to
    differentiate with respect to them); state one list per layer (an LSTM's holds h and
    c, each (B, units)); returns logits (B, T, vocab) and the new state.
    ``dropout`` is applied to each recurrent layer's outputs while training. Under a
    mixed-precision policy (set before building) the recurrent layers compute in
    bfloat16 or float16; the logits stay float32.
    """

    LAYERS = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
              "gru": keras.layers.GRU}

    def __init__(self, vocab: int, units: int, kind: str = "lstm", dropout: float = 0.0,
                 layers: int = 1, **kwargs):
        super().__init__(**kwargs)
        if kind not in self.LAYERS:
            raise ValueError(f"kind must be one of {list(self.LAYERS)}, got {kind!r}")
        self.vocab, self.units, self.kind, self.n_layers = vocab, units, kind, layers
        self.rnns = [self.LAYERS[kind](units, return_sequences=True, return_state=True)
                     for _ in range(layers)]
        self.drop = keras.layers.Dropout(dropout)
        # float32 logits under a mixed-precision policy too: bits per character are
        # differences of log-probabilities, which bfloat16 would round
        self.out = keras.layers.Dense(vocab, dtype="float32")

    def initial_state(self, batch: int):
        n = 2 if self.kind == "lstm" else 1
        return [[tf.zeros((batch, self.units)) for _ in range(n)] for _ in range(self.n_layers)]

    def call(self, inputs, state, training=False):
        inputs = tf.convert_to_tensor(inputs)
        x = inputs if inputs.dtype.is_floating else tf.one_hot(inputs, self.vocab)
        new_state = []
        for rnn, s in zip(self.rnns, state, strict=True):
            res = rnn(x, initial_state=s, training=training)
            x = self.drop(res[0], training=training)
            new_state.append(list(res[1:]))
        return self.out(x), new_state


class Arch2(keras.Model):
    """Previous output fed back: h_t = tanh(x_t U + y_{t-1} V + b), logits = h_t W + c.

    ``call(inputs, previous)``: inputs and previous (B, T) int, the character read
    and the fed-back output (with teacher forcing, the true previous target, which
    equals the input; at generation, the model's own previous sample).
    """

    def __init__(self, vocab: int, hidden: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab = vocab
        self.U = keras.layers.Embedding(vocab, hidden)
        self.V = keras.layers.Embedding(vocab, hidden)
        self.hidden = keras.layers.Dense(hidden, activation="tanh")
        self.out = keras.layers.Dense(vocab)

    def call(self, inputs, previous, training=False):
        return self.out(self.hidden(self.U(inputs) + self.V(previous)))


def mean_cross_entropy(logits, targets):
    """Mean softmax cross-entropy in nats (TensorFlow)."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(targets, tf.int32), logits=logits))


def create_variables(model, optimizer, *example_inputs) -> None:
    """Create the model's variables (by calling it on ``example_inputs``) and the
    optimizer's, eagerly. TensorFlow traces a ``tf.function`` that creates variables on its
    first call twice, and tracing a step unrolled over 100 characters takes seconds."""
    model(*example_inputs)
    if not optimizer.built:
        optimizer.build(model.trainable_variables)


def make_train_step(model, optimizer, clip: float | None = 5.0):
    """A ``tf.function`` doing one window: forward, loss, gradients, clipping, update.

    Returns step(inputs, targets, state) -> (loss_nats, global_norm, new_state); the
    new state is wrapped in ``tf.stop_gradient`` (truncated BPTT).
    """
    create_variables(model, optimizer, np.zeros((1, 1), np.int32), model.initial_state(1))

    @tf.function
    def step(inputs, targets, state):
        with tf.GradientTape() as tape:
            logits, new_state = model(inputs, state, training=True)
            loss = mean_cross_entropy(logits, targets)
        variables = model.trainable_variables
        grads = tape.gradient(loss, variables)
        if clip is not None:
            grads, norm = tf.clip_by_global_norm(grads, clip)
        else:
            norm = tf.linalg.global_norm(grads)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss, norm, tf.nest.map_structure(tf.stop_gradient, new_state)
    return step


def evaluate_bpc(model, encoded, streams: int = 32, unroll: int = 100) -> float:
    """Held-out bits per character, reading ``encoded`` as parallel streams with the
    state carried along each stream (see :meth:`dlcourse.rnn.CharRNN.evaluate_bpc`)."""
    unroll = validate.count("unroll", unroll)
    chars = parallel_streams(encoded, streams).astype(np.int32)
    length = chars.shape[1] - 1
    fwd = _forward_fn(model)
    state = model.initial_state(streams)
    total = 0.0
    for s in range(0, length, unroll):
        e = min(s + unroll, length)
        loss, state = fwd(chars[:, s:e], chars[:, s + 1:e + 1], state)
        total += float(loss) * (e - s) * streams
    return nats_to_bits(total / (streams * length))


def _forward_fn(model):
    fn = getattr(model, "_dlcourse_forward", None)
    if fn is None:
        @tf.function
        def fn(inputs, targets, state):
            logits, state = model(inputs, state, training=False)
            return mean_cross_entropy(logits, targets), state
        model._dlcourse_forward = fn
    return fn


def train(model, cursors, optimizer, *, steps: int | None = None, seconds: float | None = None,
          clip: float | None = 5.0, eval_fn=None, eval_every: int = 200, callback=None,
          progress: bool = True, desc: str = "", reset_every: int | None = None) -> dict:
    """Train a model of this module on windows from ``cursors`` (truncated BPTT).

    Stops after ``steps`` windows or ``seconds``, whichever first; the carried state
    starts again from zeros every ``reset_every`` windows (None: never). Returns a
    history like :func:`dlcourse.rnn.train` (step, chars, train_bpc, grad_norm,
    eval_step, eval_bpc, eval_time, seconds).
    """
    step_fn = make_train_step(model, optimizer, clip)
    state = {"s": model.initial_state(cursors.batch_size)}

    def one_step(inputs, targets):
        loss, norm, state["s"] = step_fn(inputs.astype(np.int32), targets.astype(np.int32),
                                         state["s"])
        return float(loss), float(norm), None

    def reset():
        state["s"] = model.initial_state(cursors.batch_size)

    return training_loop(model, cursors, one_step, steps=steps, seconds=seconds,
                         eval_fn=eval_fn, eval_every=eval_every, callback=callback,
                         progress=progress, desc=desc or type(model).__name__,
                         reset=reset, reset_every=reset_every)


def sample(model, start, length: int, temperature: float = 1.0, rng=None) -> np.ndarray:
    """Generate ``length`` character indices after priming with ``start`` (1-D indices).

    Softmax is applied once, to logits / temperature, and the next character drawn
    from it. Returns an int array (length,).
    """
    temperature = validate.finite_number("temperature", temperature, strictly_above=0.0)
    length = validate.count("length", length, minimum=0)
    rng = np.random.default_rng(rng)
    start = np.asarray(start, dtype=np.int32)
    if start.ndim != 1 or start.size == 0:
        raise ValueError("start must be a non-empty 1-D sequence of character indices")
    step = _step_fn(model)
    logits, state = model(start[None], model.initial_state(1))
    last = logits[0, -1].numpy()
    out = np.empty(length, dtype=np.int64)
    for i in range(length):
        z = last / temperature
        p = np.exp(z - z.max())
        out[i] = rng.choice(len(p), p=p / p.sum())
        last, state = step(np.array([[out[i]]], dtype=np.int32), state)
        last = last.numpy()
    return out


def _step_fn(model):
    fn = getattr(model, "_dlcourse_step", None)
    if fn is None:
        @tf.function
        def fn(inputs, state):
            logits, state = model(inputs, state)
            return logits[0, -1], state
        model._dlcourse_step = fn
    return fn


def input_gradient_reach(model, ids) -> np.ndarray:
    """How far back a :class:`KerasCharModel` looks: ‖∂L/∂x_{T-k}‖ / ‖∂L/∂x_T‖.

    ids (N, T + 1) ints; the model reads ids[:, :T] from a zero state and L is the
    cross-entropy of its prediction of ids[:, T]. Returns T ratios, k = 0 … T-1, as
    :meth:`dlcourse.rnn.CharRNN.input_gradient_reach` does for the NumPy model.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be integers of shape (N, T + 1) with T >= 1, got "
                         f"{ids.dtype} {ids.shape}")
    x = tf.one_hot(ids[:, :-1], model.vocab)
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits, _ = model(x, model.initial_state(len(ids)))
        loss = mean_cross_entropy(logits[:, -1], ids[:, -1])
    grad = tape.gradient(loss, x).numpy().astype(np.float64)
    norms = np.linalg.norm(grad, axis=(0, 2))[::-1]
    return norms / norms[0]


def arch2_train_step(model, optimizer):
    """A ``tf.function`` training :class:`Arch2` on one batch: step(x, prev, y) -> loss in
    nats, with x, prev and y (B, 1) int32 (input, fed-back output, target)."""
    create_variables(model, optimizer, np.zeros((1, 1), np.int32), np.zeros((1, 1), np.int32))

    @tf.function
    def step(x, prev, y):
        with tf.GradientTape() as tape:
            loss = mean_cross_entropy(model(x, prev, training=True), y)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss
    return step


def train_arch2(model, encoded, optimizer, *, steps: int, batch: int = 256, seed: int = 0,
                progress: bool = True) -> list[float]:
    """Teacher forcing: train :class:`Arch2` on random positions, every position independent.

    The fed-back output at position t is the true target of position t-1, which is
    the character read at t: no BPTT, each batch is a bag of independent examples.
    Returns the training loss in bits per character after each step.
    """
    rng = np.random.default_rng(validate.seed("seed", seed))
    encoded = np.asarray(encoded, dtype=np.int32)
    step = arch2_train_step(model, optimizer)
    losses = []
    for _ in tqdm(range(steps), disable=not progress, desc="Arch 2 (teacher forcing)"):
        pos = rng.integers(1, len(encoded) - 1, size=(batch, 1))
        x = encoded[pos]
        losses.append(nats_to_bits(float(step(x, encoded[pos], encoded[pos + 1]))))
    return losses


def arch2_bpc(model, encoded) -> float:
    """Held-out bits per character of :class:`Arch2` with the true previous output fed back."""
    encoded = np.asarray(encoded, dtype=np.int32)
    x = encoded[:-1][None]
    logits = model(x, x)
    return nats_to_bits(float(mean_cross_entropy(logits, encoded[1:][None])))


def arch2_generate(model, first: int, length: int, temperature: float = 1.0,
                   rng=None) -> np.ndarray:
    """Generation feeds back the model's own samples (no true targets exist)."""
    rng = np.random.default_rng(rng)
    table = tf.nn.softmax(model(np.arange(model.vocab)[None], np.arange(model.vocab)[None])[0]
                          / temperature).numpy().astype(np.float64)
    out = [int(first)]
    for _ in range(length):
        p = table[out[-1]]
        out.append(int(rng.choice(len(p), p=p / p.sum())))
    return np.array(out[1:])
