"""The masked loss, the soft-argmax read-out and the error measures of lesson 08.

Shapes: targets and predictions are ``(n, 30)`` (interleaved x, y of 15 points),
scaled to [-1, 1] for the losses and in pixels for the error measures; heat maps
are ``(h, w)`` for one point or ``(n, h, w, k)`` (NHWC, one channel per point).
"""

import numpy as np

from .faces import KEYPOINT_NAMES

__all__ = ["interocular_error", "masked_mse", "per_keypoint_rmse", "rmse_pixels",
           "soft_argmax", "softmax_grid"]


def masked_mse(y_true, y_pred):
    """Keras loss: the mean of (y_true − y_pred)² over the entries where y_true is not NaN.

    One scalar for the whole batch (so a face with 4 of 15 points weighs 8 values,
    not 30). A batch with no target at all gives 0 (and no gradient), not NaN.
    Raises ValueError when the shapes differ (axes still unknown while Keras traces
    match anything): broadcasting would compare the wrong numbers or fail deep in TensorFlow.
    """
    from keras import ops

    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    t_shape, p_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if len(t_shape) != len(p_shape) or any(None not in (a, b) and a != b
                                           for a, b in zip(t_shape, p_shape, strict=True)):
        raise ValueError(f"y_true has shape {t_shape} but y_pred has shape {p_shape}; "
                         "they must be the same, (n, 30) for the 15 keypoints")
    present = ops.logical_not(ops.isnan(y_true))
    diff = ops.where(present, ops.where(present, y_true, 0.0) - y_pred, 0.0)
    count = ops.sum(ops.cast(present, y_pred.dtype))
    return ops.sum(diff * diff) / ops.maximum(count, 1.0)


def softmax_grid(heat):
    """Softmax over the positions of each heat map: ``(..., h, w)`` -> same shape, sums to 1."""
    heat = np.asarray(heat, dtype=np.float64)
    if heat.ndim < 2:
        raise ValueError(f"a heat map needs at least 2 axes (h, w), got shape {heat.shape}")
    flat = heat.reshape(*heat.shape[:-2], -1)
    flat = np.exp(flat - flat.max(axis=-1, keepdims=True))
    return (flat / flat.sum(axis=-1, keepdims=True)).reshape(heat.shape)


def soft_argmax(heat):
    """The expected (x, y) pixel position under ``softmax(heat)``: differentiable, sub-pixel.

    heat: ``(h, w)`` -> array ``[x, y]``; or ``(..., h, w)`` -> ``(..., 2)``.
    Pixel (row r, column c) sits at x = c, y = r, so a map with one very large
    value at (r, c) gives (c, r), and a flat map gives the image centre ((w−1)/2, (h−1)/2).
    """
    p = softmax_grid(heat)
    h, w = p.shape[-2:]
    x = (p.sum(axis=-2) * np.arange(w)).sum(axis=-1)
    y = (p.sum(axis=-1) * np.arange(h)).sum(axis=-1)
    return np.stack([x, y], axis=-1)


def _check_pair(pred, true):
    pred, true = np.asarray(pred, np.float64), np.asarray(true, np.float64)
    if pred.shape != true.shape or pred.ndim != 2 or pred.shape[1] != 2 * len(KEYPOINT_NAMES):
        raise ValueError(f"predictions {pred.shape} and targets {true.shape} must both be "
                         f"(n, {2 * len(KEYPOINT_NAMES)})")
    return pred, true


def rmse_pixels(pred, true) -> float:
    """Root mean squared error over every present coordinate (pixels in, pixels out)."""
    pred, true = _check_pair(pred, true)
    present = ~np.isnan(true)
    return float(np.sqrt(np.mean((pred[present] - true[present]) ** 2)))


def per_keypoint_rmse(pred, true) -> np.ndarray:
    """``(15,)``: the RMSE of each point's x and y over the faces where it is present."""
    pred, true = _check_pair(pred, true)
    sq = (pred - true) ** 2
    sq = sq.reshape(len(sq), -1, 2)
    present = ~np.isnan(true.reshape(len(true), -1, 2)[..., 0])
    return np.array([np.sqrt(sq[present[:, j], j].mean()) if present[:, j].any() else np.nan
                     for j in range(sq.shape[1])])


def interocular_error(pred, true) -> float:
    """Mean point-to-point distance divided by the distance between the two eye centres.

    Averaged over present points, per face, then over faces (the usual face-alignment
    measure; 0.05 means an error of 5% of the eye distance).
    """
    pred, true = _check_pair(pred, true)
    p, t = pred.reshape(len(pred), -1, 2), true.reshape(len(true), -1, 2)
    eyes = np.linalg.norm(t[:, 0] - t[:, 1], axis=-1)
    dist = np.linalg.norm(p - t, axis=-1)
    per_face = np.nanmean(dist, axis=1) / eyes
    return float(np.nanmean(per_face))
