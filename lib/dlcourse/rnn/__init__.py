"""Recurrent networks, unrolled (lesson 04): a NumPy RNN with backpropagation through time,
the character model built on it, its training loop, count baselines, text helpers, and the
same models in TensorFlow/Keras.

Public API (notebooks and tests import only these names):

- ``numpy_rnn``: ``step_forward``, ``step_backward``, ``forward``, ``backward``,
  ``gradient_reach``, ``init_weights`` (re-exported here)
- ``model``: ``CharRNN``, the character model (``CharRNN.random(vocab, hidden, activation,
  combine, rng, dtype)`` or ``CharRNN(params, activation, combine)``; ``params``,
  ``loss_and_grads``, ``logits``, ``evaluate_bpc``, ``input_gradient_reach``, ``sample``),
  and its output layer and loss: ``softmax``, ``output_forward``, ``output_backward``,
  ``cross_entropy_bits``, ``nats_to_bits``
- ``training``: ``train(model, cursors, optimizer, ...)``, ``clip_by_global_norm``
- ``ngram``: ``unigram_bpc``, ``ngram_bpc``
- ``text``: ``TEXT8_ALPHABET``, ``clean_text8``, ``Alphabet``, ``one_hot``,
  ``cursor_starts``, ``next_window``, ``BatchCursors``, ``parallel_streams``,
  ``split_text``, ``load_shakespeare``, ``load_text8``
- ``dlcourse.nets``: ``Adam``, ``SGD`` and ``softmax_cross_entropy`` (as ``cross_entropy``),
  re-exported here
- ``tf_models`` (imports TensorFlow; import it as ``from dlcourse.rnn import tf_models``):
  ``Arch1``, ``KerasCharModel``, ``Arch2``, ``train``, ``evaluate_bpc``, ``sample``,
  ``input_gradient_reach``, ``arch2_train_step``, ``train_arch2``, ``arch2_bpc``,
  ``arch2_generate``
- ``plots``: ``draw_cursors``, ``plot_learning_curves``, ``plot_reach``,
  ``plot_unroll_lengths``
"""

import importlib

from ..nets import SGD, Adam
from ..nets import softmax_cross_entropy as cross_entropy
from .model import (
    CharRNN,
    cross_entropy_bits,
    nats_to_bits,
    output_backward,
    output_forward,
    softmax,
)
from .ngram import ngram_bpc, unigram_bpc
from .numpy_rnn import (
    backward,
    forward,
    gradient_reach,
    init_weights,
    step_backward,
    step_forward,
)
from .text import (
    TEXT8_ALPHABET,
    Alphabet,
    BatchCursors,
    clean_text8,
    cursor_starts,
    load_shakespeare,
    load_text8,
    next_window,
    one_hot,
    parallel_streams,
    split_text,
)
from .training import clip_by_global_norm, train

# Submodules that import TensorFlow or matplotlib: loaded when first used, so that the NumPy
# lesson code imports quickly (``from dlcourse.rnn import tf_models`` or ``rnn.plots``).
LAZY_SUBMODULES = ("plots", "tf_models")

__all__ = [
    "plots", "tf_models",
    "step_forward", "step_backward", "forward", "backward", "gradient_reach", "init_weights",
    "CharRNN", "softmax", "output_forward", "output_backward", "cross_entropy_bits",
    "nats_to_bits", "train", "clip_by_global_norm", "unigram_bpc", "ngram_bpc",
    "TEXT8_ALPHABET", "clean_text8", "Alphabet", "one_hot", "cursor_starts", "next_window",
    "BatchCursors", "parallel_streams", "split_text", "load_shakespeare", "load_text8",
    "cross_entropy", "Adam", "SGD",
]


def __getattr__(name: str):
    if name in LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
