"""Neural-net parts the NumPy lessons share (02's CNN, 04's RNN).

Public API:

- ``layers``: lesson 02's NumPy CNN: ``Conv``, ``ReLU``, ``Flatten``, ``Affine`` and
  ``SoftmaxCrossEntropy`` layers (``forward``/``backward``), ``ConvNet``, ``train``,
  ``accuracy``, ``gradient_errors(layer, x)``
- ``gradcheck``: central finite differences, the independent check of every hand-written
  backward pass (``numerical_gradient``, ``gradient_error``, ``projected_errors``,
  ``relative_error``, ``eps_sweep``, ``sample_indices``)
- ``optim``: ``SGD`` (optional momentum) and ``Adam``, one interface:
  ``update(params, grads)`` on dicts of arrays, in place; ``learning_rate()``
  with a constant, smooth exponential or staircase schedule
- ``losses``: ``softmax_cross_entropy(logits, labels) -> (loss, dlogits)``
"""

from . import gradcheck, layers
from .losses import softmax_cross_entropy
from .optim import SGD, Adam

__all__ = ["SGD", "Adam", "gradcheck", "layers", "softmax_cross_entropy"]
