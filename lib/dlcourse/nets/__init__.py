"""Neural-net parts the NumPy lessons share (02's CNN, 04's RNN).

Public API:

- ``optim``: ``SGD`` (optional momentum) and ``Adam``, one interface:
  ``update(params, grads)`` on dicts of arrays, in place; ``learning_rate()``
  with a constant, smooth exponential or staircase schedule
- ``losses``: ``softmax_cross_entropy(logits, labels) -> (loss, dlogits)``
"""

from .losses import softmax_cross_entropy
from .optim import SGD, Adam

__all__ = ["SGD", "Adam", "softmax_cross_entropy"]
