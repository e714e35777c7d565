"""Lesson 08: keypoint localisation with recombinator networks (Honari et al. 2016).

Public API (notebooks and tests import only these names from ``dlcourse.keypoints``):

- data (``faces``): ``make_faces`` synthetic 96×96 faces with 15 keypoints,
  ``scale_targets`` / ``unscale_targets``, ``load_facial_keypoints`` (the real CSV),
  ``kaggle_incomplete``, ``KEYPOINT_NAMES``, ``KAGGLE_PARTIAL_POINTS``, sizes.
- losses and measures (``losses``): ``masked_mse`` and ``soft_argmax`` (this course's
  training and read-out), ``position_nll`` and ``hard_argmax`` (the paper's),
  ``softmax_grid``, ``rmse_pixels``, ``per_keypoint_rmse``, ``interocular_error``.
- ``models``: the Keras models ``plain_encoder``, ``sumnet``, ``recombinator`` and their parts
  (``soft_argmax_head``, ``heat_map_model``, ``upsample_repeat``, ``receptive_fields``,
  ``coordinate_grid``).
- ``train``, ``predict_pixels``, ``Run``: training on equal terms, predictions in pixels.
- ``plots``: the lesson's figures.
"""

from . import models, plots
from .faces import (
    KAGGLE_COMPLETE,
    KAGGLE_PARTIAL_POINTS,
    KAGGLE_TOTAL,
    KEYPOINT_NAMES,
    SIZE,
    kaggle_incomplete,
    load_facial_keypoints,
    make_faces,
    scale_targets,
    unscale_targets,
)
from .losses import (
    hard_argmax,
    interocular_error,
    masked_mse,
    per_keypoint_rmse,
    position_nll,
    rmse_pixels,
    soft_argmax,
    softmax_grid,
)
from .training import Run, predict_pixels, train

__all__ = [
    "KAGGLE_COMPLETE",
    "KAGGLE_PARTIAL_POINTS",
    "KAGGLE_TOTAL",
    "KEYPOINT_NAMES",
    "SIZE",
    "Run",
    "hard_argmax",
    "interocular_error",
    "kaggle_incomplete",
    "load_facial_keypoints",
    "make_faces",
    "masked_mse",
    "models",
    "per_keypoint_rmse",
    "plots",
    "position_nll",
    "predict_pixels",
    "rmse_pixels",
    "scale_targets",
    "soft_argmax",
    "softmax_grid",
    "train",
    "unscale_targets",
]
