"""The character model on top of the NumPy recurrence: :class:`CharRNN`, its output layer,
and the loss in bits per character (the loss itself is :mod:`dlcourse.nets`').

A :class:`CharRNN` over an alphabet of V symbols with H hidden units holds its weights in
``params``, a dict of float arrays ``{"Wx", "Wh", "b", "Wy", "by"}`` (the recurrence's
Wx (V, H or H1), Wh (H, H or H2), b (H,), see :mod:`dlcourse.rnn.numpy_rnn`, and the
output layer's Wy (H, V), by (V,)), the dict the optimisers' ``update(params, grads)``
changes in place. It carries its activation and combine mode, so no caller repeats them.
Inputs and targets are (N, T) integer arrays (see :class:`dlcourse.rnn.text.BatchCursors`).

Loss: the mean cross-entropy (negative log-likelihood) in nats, ``-mean log p(target)``;
in bits per character it is that divided by ln 2. A model that knows nothing
(uniform over V symbols) scores log2(V) bits.
"""

import numpy as np

from ..core import validate
from ..nets import softmax_cross_entropy as cross_entropy
from . import numpy_rnn
from .text import one_hot, parallel_streams

LN2 = float(np.log(2.0))
PARAM_NAMES = ("Wx", "Wh", "b", "Wy", "by")


def nats_to_bits(nats: float) -> float:
    """Cross-entropy in nats → bits (divide by ln 2)."""
    return nats / LN2


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """Softmax over the last axis of ``logits / temperature`` (stable: max subtracted)."""
    temperature = validate.finite_number("temperature", temperature, strictly_above=0.0)
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


def generator(rng) -> np.random.Generator:
    """``rng`` itself if it is a Generator (its draws continue), else one seeded by it."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(validate.seed("rng", rng, allow_none=True))


class CharRNN:
    """A vanilla RNN that reads one-hot characters and predicts the next one (Arch 1).

    ``CharRNN(params, activation, combine)`` wraps given weights (the dict is kept, not
    copied); :meth:`random` draws new ones. ``activation`` is "tanh" or "relu",
    ``combine`` "sum" or "concat" (:mod:`dlcourse.rnn.numpy_rnn`).
    """

    def __init__(self, params: dict, activation: str = "tanh", combine: str = "sum"):
        numpy_rnn.check_options(activation, combine)
        if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
            keys = sorted(params) if isinstance(params, dict) else type(params).__name__
            raise ValueError(f"params must be a dict with the keys {PARAM_NAMES}, got {keys}")
        for name, value in params.items():
            if not (isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating)):
                raise TypeError(f"params[{name!r}] must be a float NumPy array (it is updated "
                                f"in place), got {getattr(value, 'dtype', type(value).__name__)}")
        Wx, _, b = numpy_rnn.check_weights(params["Wx"], params["Wh"], params["b"], combine)
        V = Wx.shape[0]
        if params["Wy"].shape != (b.size, V) or params["by"].shape != (V,):
            raise ValueError(f"with Wx {Wx.shape} (one row per symbol) and b {b.shape}, Wy must "
                             f"be ({b.size}, {V}) and by ({V},); got {params['Wy'].shape}, "
                             f"{params['by'].shape}")
        self.params, self.activation, self.combine = params, activation, combine

    @classmethod
    def random(cls, vocab: int, hidden: int, activation: str = "tanh", combine: str = "sum",
               rng=None, dtype=np.float64, h_split: int | None = None) -> "CharRNN":
        """Random starting weights (:func:`~dlcourse.rnn.numpy_rnn.init_weights`, Wy ~ N(0, 1/H),
        by = 0). rng: a seed (int >= 0 or None) or a Generator, whose draws continue."""
        numpy_rnn.check_options(activation, combine)
        rng = generator(rng)
        Wx, Wh, b = numpy_rnn.init_weights(vocab, hidden, combine, rng, dtype, h_split)
        Wx *= np.sqrt(vocab) * 0.1  # one-hot input: give each character's row a usable scale
        Wy = (rng.standard_normal((hidden, vocab)) / np.sqrt(hidden)).astype(dtype)
        params = {"Wx": Wx, "Wh": Wh, "b": b, "Wy": Wy, "by": np.zeros(vocab, dtype=dtype)}
        return cls(params, activation, combine)

    def __repr__(self) -> str:
        return (f"CharRNN(V={self.vocab}, H={self.hidden}, {self.activation}, {self.combine}, "
                f"{self.dtype})")

    @property
    def vocab(self) -> int:
        return self.params["Wy"].shape[1]

    @property
    def hidden(self) -> int:
        return self.params["Wy"].shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.params["Wx"].dtype

    def astype(self, dtype) -> "CharRNN":
        """A copy with every weight converted to ``dtype``."""
        return CharRNN({k: v.astype(dtype) for k, v in self.params.items()}, self.activation,
                       self.combine)

    def zero_state(self, batch: int) -> np.ndarray:
        """The hidden state h = 0 for ``batch`` rows: (batch, H)."""
        return np.zeros((batch, self.hidden), dtype=self.dtype)

    def hidden_states(self, inputs, h0):
        """Read ``inputs`` (N, T) ints from h0 (N, H): returns ``(h (N, T, H), cache)``, the
        cache for :func:`~dlcourse.rnn.numpy_rnn.backward`."""
        p = self.params
        return numpy_rnn.forward(one_hot(inputs, self.vocab, self.dtype), h0, p["Wx"], p["Wh"],
                                 p["b"], self.activation, self.combine)

    def logits(self, inputs, h0=None):
        """Logits of each next character: inputs (N, T) ints, h0 (N, H) (default zeros).

        Returns ``(logits (N, T, V), h_last (N, H))``, h_last the state to carry on.
        """
        inputs = np.asarray(inputs)
        h, _ = self.hidden_states(inputs, self.zero_state(len(inputs)) if h0 is None else h0)
        return output_forward(h, self.params["Wy"], self.params["by"]), h[:, -1]

    def loss_and_grads(self, inputs, targets, h0):
        """Forward and backward over one window.

        inputs, targets (N, T) ints; h0 (N, H). Returns ``(loss_nats, grads, h_last)``,
        grads a dict shaped like ``params``, h_last (N, H) the state to carry to the next
        window (its gradient is not carried: truncated BPTT).
        """
        p = self.params
        h, cache = self.hidden_states(inputs, h0)
        loss, dlogits = cross_entropy(output_forward(h, p["Wy"], p["by"]), targets)
        dh, dWy, dby = output_backward(dlogits, h, p["Wy"])
        _, _, dWx, dWh, db = numpy_rnn.backward(dh, cache)
        return loss, {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}, h[:, -1]

    def evaluate_bpc(self, encoded, streams: int = 32, unroll: int = 100,
                     temperature: float = 1.0, reset_state: bool = False) -> float:
        """Held-out bits per character: read ``encoded`` (L,) as ``streams`` parallel streams.

        The state is carried along each stream (as in training), so the model sees all
        the context it can; every character but the first of each stream is scored once.
        ``reset_state=True`` starts every window of ``unroll`` characters from h = 0
        instead; ``temperature`` scores softmax(logits / temperature).
        """
        temperature = validate.finite_number("temperature", temperature, strictly_above=0.0)
        unroll = validate.count("unroll", unroll)
        chars = parallel_streams(encoded, streams)
        length = chars.shape[1] - 1
        h = self.zero_state(streams)
        total = 0.0
        for s in range(0, length, unroll):
            end = min(s + unroll, length)
            logits, h_last = self.logits(chars[:, s:end], h)
            tgt = chars[:, s + 1:end + 1]
            total += cross_entropy(logits / temperature, tgt)[0] * tgt.size
            h = np.zeros_like(h) if reset_state else h_last
        return nats_to_bits(total / (streams * length))

    def input_gradient_reach(self, ids) -> np.ndarray:
        """How far back the prediction of one character looks: ‖∂L/∂x_{T-k}‖ / ‖∂L/∂x_T‖.

        ids (N, T + 1) ints: the model reads ids[:, :T] from h = 0 and L is the
        cross-entropy of its prediction of ids[:, T], the last step only; x_t is the
        one-hot input at step t. Returns T ratios for k = 0 … T-1 (the first is 1), each
        a norm over the batch (Frobenius), computed in float64. The same measure for a
        Keras model: :func:`dlcourse.rnn.tf_models.input_gradient_reach`.
        """
        ids = np.asarray(ids)
        if ids.ndim != 2 or ids.shape[1] < 2:
            raise ValueError(f"ids must have shape (N, T + 1) with T >= 1, got {ids.shape}")
        model = self.astype(np.float64)
        Wy, by = model.params["Wy"], model.params["by"]
        hs, cache = model.hidden_states(ids[:, :-1], model.zero_state(len(ids)))
        _, dlogits = cross_entropy(output_forward(hs[:, -1:], Wy, by), ids[:, -1:])
        dh = np.zeros_like(hs)
        dh[:, -1:] = output_backward(dlogits, hs[:, -1:], Wy)[0]
        norms = np.linalg.norm(numpy_rnn.backward(dh, cache)[0], axis=(0, 2))[::-1]
        return norms / norms[0]

    def sample(self, start, length: int, temperature: float = 1.0, rng=None) -> np.ndarray:
        """Generate ``length`` characters after the priming indices ``start`` (a 1-D sequence).

        Each next character is drawn from softmax(logits / temperature): below 1 sharper
        (more likely, more repetitive), above 1 flatter (more surprising, more errors).
        Softmax is applied once, to the logits. rng: a seed or a Generator. Returns the
        generated indices (length,).
        """
        start = np.asarray(start)
        if start.ndim != 1 or start.size == 0:
            raise ValueError("start must be a non-empty 1-D sequence of character indices")
        length = validate.count("length", length, minimum=0)
        temperature = validate.finite_number("temperature", temperature, strictly_above=0.0)
        rng = generator(rng)
        p = self.params
        hs, _ = self.hidden_states(start[None], self.zero_state(1))
        h = hs[:, -1]
        out = np.empty(length, dtype=np.int64)
        for i in range(length):
            out[i] = rng.choice(self.vocab, p=softmax(h[0] @ p["Wy"] + p["by"], temperature))
            h, _ = numpy_rnn.step_forward(one_hot(out[i:i + 1], self.vocab, self.dtype), h,
                                          p["Wx"], p["Wh"], p["b"], self.activation,
                                          self.combine)
        return out
