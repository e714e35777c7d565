"""The one softmax cross-entropy the NumPy networks share (lessons 02 and 04)."""

import numpy as np

__all__ = ["softmax_cross_entropy"]


def softmax_cross_entropy(logits, labels) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    logits (..., K) real; labels (...) integers in [0, K). Returns ``(loss, dlogits)``:
    loss = −mean log softmax(logits)[label] in nats, dlogits (..., K) =
    (softmax(logits) − one_hot(labels)) / labels.size.
    """
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim < 1 or logits.shape[:-1] != labels.shape:
        raise ValueError(f"logits (..., K) need labels of shape logits.shape[:-1], got logits "
                         f"{logits.shape} and labels {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    K = logits.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= K):
        raise ValueError(f"labels must lie in [0, {K}), got {labels.min()}..{labels.max()}")
    shifted = logits - logits.max(axis=-1, keepdims=True)  # exp cannot overflow
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, labels[..., None], axis=-1)
    dlogits = np.exp(log_probs)
    np.put_along_axis(dlogits, labels[..., None],
                      np.take_along_axis(dlogits, labels[..., None], axis=-1) - 1, axis=-1)
    return float(-picked.mean()), dlogits / labels.size
