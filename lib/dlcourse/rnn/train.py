"""Character model on top of the NumPy recurrence: output layer, clipping, training,
evaluation in bits per character, sampling, and n-gram count baselines (the loss and
the optimisers are :mod:`dlcourse.nets`').

A model is a dict of float arrays ``{"Wx", "Wh", "b", "Wy", "by"}`` with Wy (H, V)
and by (V,) the output layer over an alphabet of V symbols; inputs and targets are
(N, T) integer arrays (see :class:`dlcourse.rnn.text.BatchCursors`).

Loss: the mean cross-entropy (negative log-likelihood) in nats, ``-mean log p(target)``;
in bits per character it is that divided by ln 2. A model that knows nothing
(uniform over V symbols) scores log2(V) bits.
"""

import time

import numpy as np
from tqdm.auto import tqdm

from ..nets import softmax_cross_entropy as cross_entropy
from . import numpy_rnn
from .text import one_hot

LN2 = float(np.log(2.0))


def nats_to_bits(nats: float) -> float:
    """Cross-entropy in nats → bits (divide by ln 2)."""
    return nats / LN2


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis of ``logits / temperature`` (stable: max subtracted)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def output_forward(h, Wy, by):
    """Logits of the next character: h (N, T, H) → (N, T, V) = h Wy + by."""
    if h.ndim != 3 or Wy.shape[0] != h.shape[-1] or by.shape != (Wy.shape[1],):
        raise ValueError(f"output layer: h (N, T, H), Wy (H, V), by (V,) expected; got "
                         f"h {h.shape}, Wy {Wy.shape}, by {by.shape}")
    return h @ Wy + by


def output_backward(dlogits, h, Wy):
    """Backward of :func:`output_forward`: returns (dh (N, T, H), dWy (H, V), dby (V,))."""
    H, V = Wy.shape
    flat_h, flat_d = h.reshape(-1, H), dlogits.reshape(-1, V)
    return dlogits @ Wy.T, flat_h.T @ flat_d, flat_d.sum(axis=0)


def cross_entropy_bits(logits, targets) -> float:
    """Mean cross-entropy in bits per character."""
    return nats_to_bits(cross_entropy(logits, targets)[0])


def clip_by_global_norm(grads: dict, max_norm: float):
    """Scale all gradients by min(1, max_norm / ‖g‖), ‖g‖ the norm of all of them together.

    Returns ``(clipped, norm)``; the direction of the update is kept, only its length
    is capped (what ``tf.clip_by_global_norm`` does).
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def init_model(vocab: int, hidden: int, combine: str = "sum", rng=None, dtype=np.float64,
               h_split: int | None = None) -> dict:
    """Random parameters of a character RNN: {"Wx", "Wh", "b", "Wy", "by"}."""
    rng = np.random.default_rng(rng)
    Wx, Wh, b = numpy_rnn.init_weights(vocab, hidden, combine, rng, dtype, h_split)
    Wx *= np.sqrt(vocab) * 0.1  # one-hot input: give each character's row a usable scale
    Wy = (rng.standard_normal((hidden, vocab)) / np.sqrt(hidden)).astype(dtype)
    return {"Wx": Wx, "Wh": Wh, "b": b, "Wy": Wy, "by": np.zeros(vocab, dtype=dtype)}


def loss_and_grads(model: dict, inputs, targets, h0, activation="tanh", combine="sum"):
    """Forward and backward over one window.

    inputs, targets (N, T) ints; h0 (N, H). Returns ``(loss_nats, grads, h_last)``,
    grads shaped like ``model``, h_last (N, H) the state to carry to the next window
    (its gradient is not carried: truncated BPTT).
    """
    V = model["Wy"].shape[1]
    x = one_hot(inputs, V, dtype=model["Wx"].dtype)
    h, cache = numpy_rnn.forward(x, h0, model["Wx"], model["Wh"], model["b"], activation, combine)
    logits = output_forward(h, model["Wy"], model["by"])
    loss, dlogits = cross_entropy(logits, targets)
    dh, dWy, dby = output_backward(dlogits, h, model["Wy"])
    _, _, dWx, dWh, db = numpy_rnn.backward(dh, cache)
    grads = {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}
    return loss, grads, h[:, -1]


def evaluate_bpc(model: dict, encoded, activation="tanh", combine="sum", streams: int = 32,
                 unroll: int = 100, temperature: float = 1.0, reset_state: bool = False) -> float:
    """Held-out bits per character: read ``encoded`` as ``streams`` parallel streams.

    The state is carried along each stream (as in training), so the model sees all
    the context it can; every character but the first of each stream is scored once.
    ``reset_state=True`` starts every window of ``unroll`` characters from h = 0
    instead; ``temperature`` scores softmax(logits / temperature).
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    encoded = np.asarray(encoded)
    length = (len(encoded) - 1) // streams
    if length < 1:
        raise ValueError(f"the text ({len(encoded)} characters) is too short for {streams} streams")
    H, V = model["Wy"].shape
    rows = np.arange(streams)[:, None] * length + np.arange(length + 1)
    chars = encoded[rows]
    h = np.zeros((streams, H), dtype=model["Wx"].dtype)
    total = 0.0
    for s in range(0, length, unroll):
        inp, tgt = chars[:, s:min(s + unroll, length)], chars[:, s + 1:min(s + unroll, length) + 1]
        hs, _ = numpy_rnn.forward(one_hot(inp, V, model["Wx"].dtype), h, model["Wx"],
                                  model["Wh"], model["b"], activation, combine)
        logits = output_forward(hs, model["Wy"], model["by"]) / temperature
        total += cross_entropy(logits, tgt)[0] * tgt.size
        h = np.zeros_like(h) if reset_state else hs[:, -1]
    return nats_to_bits(total / (streams * length))


def train(model: dict, cursors, optimizer, *, steps: int | None = None,
          seconds: float | None = None, clip: float | None = 5.0, activation="tanh",
          combine="sum", eval_fn=None, eval_every: int = 100, callback=None,
          progress: bool = True, desc: str = "", reset_every: int | None = None) -> dict:
    """Truncated-BPTT training of ``model`` (in place) on windows from ``cursors``.

    Stops after ``steps`` windows or ``seconds`` of wall time, whichever comes first.
    The carried hidden state starts again from zeros every ``reset_every`` windows
    (None: never), so the model also learns to start from the zero state it is
    evaluated and sampled from.
    eval_fn(model) -> held-out bpc is called every ``eval_every`` steps and at the
    end; callback(step, model) too (e.g. to store samples). Returns a history dict
    of lists: step, chars, train_bpc, grad_norm, lr, and eval_step/eval_bpc/eval_time.
    """
    H = model["Wh"].shape[0]
    state = {"h": np.zeros((cursors.batch_size, H), dtype=model["Wx"].dtype)}

    def one_step(inputs, targets):
        loss, grads, state["h"] = loss_and_grads(model, inputs, targets, state["h"],
                                                 activation, combine)
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss}: lower the learning rate or "
                                     "clip the gradients")
        if clip is not None:
            grads, norm = clip_by_global_norm(grads, clip)
        else:
            norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
        lr = optimizer.learning_rate()
        optimizer.update(model, grads)
        return loss, norm, lr

    def reset():
        state["h"] = np.zeros_like(state["h"])

    return training_loop(model, cursors, one_step, steps=steps, seconds=seconds,
                         eval_fn=eval_fn, eval_every=eval_every, callback=callback,
                         progress=progress, desc=desc or f"NumPy RNN ({activation}, {combine})",
                         reset=reset, reset_every=reset_every)


def training_loop(model, cursors, one_step, *, steps: int | None, seconds: float | None,
                  eval_fn=None, eval_every: int = 100, callback=None, progress: bool = True,
                  desc: str = "", reset=None, reset_every: int | None = None) -> dict:
    """The loop shared by the NumPy and TensorFlow trainers.

    one_step(inputs, targets) -> (loss_nats, grad_norm, learning_rate or None) trains on
    one window from ``cursors``. Stops after ``steps`` windows or ``seconds``, whichever
    comes first; calls eval_fn(model) and callback(step, model) every ``eval_every``
    steps and at the end; calls reset() (zero the carried state) before every
    ``reset_every``-th window. Returns the history dict described in :func:`train`.
    """
    if steps is None and seconds is None:
        raise ValueError("give steps, seconds or both")
    if reset_every is not None and (not isinstance(reset_every, int) or reset_every < 1):
        raise ValueError(f"reset_every must be a positive number of windows or None, "
                         f"got {reset_every!r}")
    hist = {k: [] for k in ("step", "chars", "train_bpc", "grad_norm", "lr",
                            "eval_step", "eval_bpc", "eval_time")}
    start = time.perf_counter()
    bar = tqdm(total=steps, disable=not progress, desc=desc)
    step = 0

    def _evaluate():
        if eval_fn is not None:
            hist["eval_step"].append(step)
            hist["eval_bpc"].append(eval_fn(model))
            hist["eval_time"].append(time.perf_counter() - start)
        if callback is not None:
            callback(step, model)

    while (steps is None or step < steps) and (
            seconds is None or time.perf_counter() - start < seconds):
        if step % eval_every == 0:
            _evaluate()
        if reset_every and step and step % reset_every == 0:
            reset()
        inputs, targets = cursors.next()
        loss, norm, lr = one_step(inputs, targets)
        step += 1
        hist["step"].append(step)
        hist["chars"].append(step * cursors.chars_per_window)
        hist["train_bpc"].append(nats_to_bits(loss))
        hist["grad_norm"].append(norm)
        hist["lr"].append(lr)
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(bpc=f"{np.mean(hist['train_bpc'][-20:]):.3f}")
    bar.close()
    _evaluate()
    hist["seconds"] = time.perf_counter() - start
    return hist


def input_gradient_reach(model: dict, ids, activation="tanh", combine="sum") -> np.ndarray:
    """How far back the prediction of one character looks: ‖∂L/∂x_{T-k}‖ / ‖∂L/∂x_T‖.

    ids (N, T + 1) ints: the model reads ids[:, :T] from h = 0 and L is the
    cross-entropy of its prediction of ids[:, T], the last step only; x_t is the
    one-hot input at step t. Returns T ratios for k = 0 … T-1 (the first is 1), each
    a norm over the batch (Frobenius). The same measure for any model that reads
    one-hot characters: :func:`dlcourse.rnn.tf_models.input_gradient_reach` for Keras.
    """
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < 2:
        raise ValueError(f"ids must have shape (N, T + 1) with T >= 1, got {ids.shape}")
    params = {k: np.asarray(v, dtype=np.float64) for k, v in model.items()}
    H, V = params["Wy"].shape
    hs, cache = numpy_rnn.forward(one_hot(ids[:, :-1], V), np.zeros((len(ids), H)),
                                  params["Wx"], params["Wh"], params["b"], activation, combine)
    _, dlogits = cross_entropy(output_forward(hs[:, -1:], params["Wy"], params["by"]),
                               ids[:, -1:])
    dh = np.zeros_like(hs)
    dh[:, -1:] = output_backward(dlogits, hs[:, -1:], params["Wy"])[0]
    norms = np.linalg.norm(numpy_rnn.backward(dh, cache)[0], axis=(0, 2))[::-1]
    return norms / norms[0]


def sample(model: dict, start, length: int, temperature: float = 1.0, rng=None,
           activation="tanh", combine="sum") -> np.ndarray:
    """Generate ``length`` characters after the priming indices ``start`` (a 1-D sequence).

    Each next character is drawn from softmax(logits / temperature): below 1 sharper
    (more likely, more repetitive), above 1 flatter (more surprising, more errors).
    Softmax is applied once, to the logits. Returns the generated indices (length,).
    """
    start = np.asarray(start)
    if start.ndim != 1 or start.size == 0:
        raise ValueError("start must be a non-empty 1-D sequence of character indices")
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    rng = np.random.default_rng(rng)
    H, V = model["Wy"].shape
    h = np.zeros((1, H), dtype=model["Wx"].dtype)
    hs, _ = numpy_rnn.forward(one_hot(start[None], V, model["Wx"].dtype), h, model["Wx"],
                              model["Wh"], model["b"], activation, combine)
    h = hs[:, -1]
    out = np.empty(length, dtype=np.int64)
    for i in range(length):
        p = softmax(h[0] @ model["Wy"] + model["by"], temperature)
        out[i] = rng.choice(V, p=p)
        x = np.zeros((1, V), dtype=model["Wx"].dtype)
        x[0, out[i]] = 1
        h, _ = numpy_rnn.step_forward(x, h, model["Wx"], model["Wh"], model["b"], activation,
                                      combine)
    return out


def unigram_bpc(train_encoded, test_encoded, vocab: int, alpha: float = 1.0) -> float:
    """Bits per character of character frequencies (add-alpha smoothing) on held-out text."""
    counts = np.bincount(np.asarray(train_encoded), minlength=vocab) + alpha
    p = counts / counts.sum()
    return float(-np.log2(p[np.asarray(test_encoded)]).mean())


def ngram_bpc(train_encoded, test_encoded, vocab: int, order: int = 2,
              alpha: float = 0.1) -> float:
    """Held-out bits per character of an n-gram count model with add-alpha smoothing.

    order=2 is a bigram model p(c_t | c_{t-1}), order=3 a trigram p(c_t | c_{t-2}, c_{t-1}):
    Markov chains of order n-1 over the alphabet. The first n-1 held-out characters
    are not scored.
    """
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    if order == 1:
        return unigram_bpc(train_encoded, test_encoded, vocab, alpha)
    tr, te = np.asarray(train_encoded), np.asarray(test_encoded)
    if vocab ** order > 50_000_000:
        raise ValueError(f"{vocab}^{order} count cells are too many; lower the order")

    def codes(x):  # the n-gram starting at each position, as one integer in base `vocab`
        code = np.zeros(len(x) - order + 1, dtype=np.int64)
        for j in range(order):
            code = code * vocab + x[j:len(x) - order + 1 + j]
        return code

    counts = np.bincount(codes(tr), minlength=vocab ** order).reshape(-1, vocab)
    context_totals = counts.sum(axis=1)
    test_codes = codes(te)
    num = counts.reshape(-1)[test_codes]
    den = context_totals[test_codes // vocab]
    p = (num + alpha) / (den + alpha * vocab)
    return float(-np.log2(p).mean())
