"""Recurrent networks, unrolled (lesson 04): a NumPy RNN with backpropagation through time,
character-level text helpers, a small trainer, and the same models in TensorFlow/Keras.

Public API (notebooks and tests import only these names):

- ``numpy_rnn``: ``step_forward``, ``step_backward``, ``forward``, ``backward``,
  ``gradient_reach``, ``init_weights`` (re-exported here)
- ``text``: ``TEXT8_ALPHABET``, ``clean_text8``, ``Alphabet``, ``one_hot``,
  ``cursor_starts``, ``next_window``, ``BatchCursors``, ``split_text``,
  ``load_shakespeare``, ``load_text8``
- ``dlcourse.nets``: ``Adam``, ``SGD`` and ``softmax_cross_entropy`` (as ``cross_entropy``),
  re-exported here
- ``train``: ``softmax``, ``output_forward``, ``output_backward``,
  ``cross_entropy_bits``, ``nats_to_bits``, ``clip_by_global_norm``, ``init_model``,
  ``loss_and_grads``, ``train`` (as ``train_numpy``), ``evaluate_bpc``,
  ``input_gradient_reach``, ``sample``, ``unigram_bpc``, ``ngram_bpc``
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
    split_text,
)
from .train import (
    clip_by_global_norm,
    cross_entropy_bits,
    evaluate_bpc,
    init_model,
    input_gradient_reach,
    loss_and_grads,
    nats_to_bits,
    ngram_bpc,
    output_backward,
    output_forward,
    sample,
    softmax,
    unigram_bpc,
)
from .train import train as train_numpy

# Submodules that import TensorFlow or matplotlib: loaded when first used, so that the NumPy
# lesson code imports quickly (``from dlcourse.rnn import tf_models`` or ``rnn.plots``).
LAZY_SUBMODULES = ("plots", "tf_models")

__all__ = [
    "plots", "tf_models",
    "step_forward", "step_backward", "forward", "backward", "gradient_reach", "init_weights",
    "TEXT8_ALPHABET", "clean_text8", "Alphabet", "one_hot", "cursor_starts", "next_window",
    "BatchCursors", "split_text", "load_shakespeare", "load_text8",
    "softmax", "output_forward", "output_backward", "cross_entropy", "cross_entropy_bits",
    "nats_to_bits", "clip_by_global_norm", "init_model", "loss_and_grads", "Adam", "SGD",
    "train_numpy", "evaluate_bpc", "input_gradient_reach", "sample", "unigram_bpc", "ngram_bpc",
]


def __getattr__(name: str):
    if name in LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
