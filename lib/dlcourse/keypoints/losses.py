"""The losses, the heat-map read-outs and the error measures of lesson 08.

Shapes: targets and predictions are ``(n, 30)`` (interleaved x, y of 15 points),
scaled to [-1, 1] for the losses and in pixels for the error measures. The NumPy
read-outs take heat maps ``(h, w)`` for one point or ``(..., h, w)``; the Keras loss
:func:`position_nll` takes a model's heat maps ``(n, h, w, k)`` (NHWC, one channel
per point).

Two ways to train and read a heat map: this course's **soft-argmax** (the expected
position under the softmax, trained with :func:`masked_mse` on the coordinates), and
the paper's (Honari et al. 2016): the softmax over positions trained by the negative
log-likelihood of the true position rounded to its pixel (:func:`position_nll`), read
out at test time by the **argmax** (:func:`hard_argmax`).
"""

import numpy as np

from .. import core
from .faces import KEYPOINT_NAMES

__all__ = ["hard_argmax", "interocular_error", "masked_mse", "per_keypoint_rmse",
           "position_nll", "rmse_pixels", "soft_argmax", "softmax_grid"]


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


def position_nll(y_true, heat):
    """Keras loss: −log p(the true pixel) under a softmax over each heat map's positions.

    y_true ``(n, 2k)``: scaled targets (interleaved x, y; NaN = missing point), rounded
    to the nearest pixel of the ``s × s`` grid (x = column, y = row; outside points go
    to the border). heat ``(n, s, s, k)``: scores, one map per point. The mean over the
    present points of the batch; 0 (and no gradient) when none is present. Raises
    ValueError when ``2k`` differs from the targets' width or the maps are not square.
    """
    from keras import ops

    heat = ops.convert_to_tensor(heat)
    core.axes("heat", heat.shape, "n, s, s, k")
    s, k = heat.shape[1], heat.shape[3]
    y_true = ops.cast(y_true, heat.dtype)
    if y_true.shape[-1] is not None and y_true.shape[-1] != 2 * k:
        raise ValueError(f"y_true has {y_true.shape[-1]} columns but there are {k} heat maps; "
                         f"they need {2 * k} (x, y of each point)")
    xy = ops.reshape(y_true, (-1, k, 2))
    present = ops.logical_not(ops.any(ops.isnan(xy), axis=-1))  # (n, k)
    pixel = ops.clip(ops.round(ops.where(ops.isnan(xy), 0.0, xy) * (s / 2) + s / 2), 0, s - 1)
    index = ops.cast(pixel[..., 1] * s + pixel[..., 0], "int32")  # row-major position
    logp = ops.log_softmax(ops.transpose(ops.reshape(heat, (-1, s * s, k)), (0, 2, 1)), axis=-1)
    picked = ops.take_along_axis(logp, ops.expand_dims(index, -1), axis=-1)[..., 0]
    count = ops.sum(ops.cast(present, heat.dtype))
    return -ops.sum(ops.where(present, picked, 0.0)) / ops.maximum(count, 1.0)


def softmax_grid(heat):
    """Softmax over the positions of each heat map: ``(..., h, w)`` -> same shape, sums to 1."""
    heat = core.array("heat", heat, "..., h, w", dtype=np.float64)
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


def hard_argmax(heat):
    """The (x, y) pixel of the largest score: the paper's test-time read-out, on the grid.

    heat: ``(h, w)`` -> array ``[x, y]``; or ``(..., h, w)`` -> ``(..., 2)``; pixel (row r,
    column c) is x = c, y = r, and the first maximum in row-major order wins a tie.
    """
    heat = core.array("heat", heat, "..., h, w")
    r, c = np.divmod(heat.reshape(*heat.shape[:-2], -1).argmax(axis=-1), heat.shape[-1])
    return np.stack([c, r], axis=-1).astype(np.float64)


def _check_pair(pred, true):
    layout = f"n, {2 * len(KEYPOINT_NAMES)}"
    pred, true = (core.array(name, value, layout, dtype=np.float64)
                  for name, value in (("pred", pred), ("true", true)))
    if len(pred) != len(true):
        raise ValueError(f"pred and true must have one row per face each, got {len(pred)} "
                         f"and {len(true)} rows")
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
