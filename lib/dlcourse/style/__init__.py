"""Neural style transfer (Gatys et al. 2016) on VGG features (lesson 06).

Public API (notebooks and tests import only these names):

- losses (NumPy arrays or tensors; feature maps ``(1, H, W, C)`` or ``(H, W, C)``):
  :func:`gram_matrix`, :func:`content_loss`, :func:`layer_style_loss`,
  :func:`style_loss`, :func:`total_variation_loss`;
- the network: :func:`feature_extractor` (VGG16 by default, VGG19 as an option;
  ImageNet weights through ``dlcourse.data``, random filters only when asked),
  :func:`preprocess`, :func:`deprocess`, :func:`layer_names`, :func:`keras_name`,
  :func:`paper_name`, :func:`min_side`, :func:`weights_path`, :func:`weights_fingerprint`,
  :func:`filter_means` (what ``normalize=True`` divides by), ``STYLE_LAYERS``,
  ``CONTENT_LAYERS``, ``NETS``, ``POOLINGS``, ``CALIBRATION_PHOTOS``, ``MEAN_BGR``;
- optimisation: :func:`transfer` (Adam or L-BFGS), :func:`make_objective`,
  :func:`initial_image`;
- images: :func:`content_image`, :func:`style_image`, :func:`load_image`,
  :func:`as_rgb`, :func:`fit_shorter_side`, :func:`resize`, :func:`center_square`,
  :func:`to_uint8`, ``CONTENT_PHOTOS``, ``PAINTINGS``;
- figures and the lesson's widget (``plots``): :func:`show_images`, :func:`explore`,
  :func:`png_bytes`; and :func:`loss_ratio` of a run's history.

Importing the package is quick: each name is loaded from its module on first use, so
TensorFlow, matplotlib and ipywidgets load only when something needs them.
"""

import importlib

# Where each public name lives; a name is imported from its module the first time it is used.
SOURCES = {
    "images": ("CONTENT_PHOTOS", "PAINTINGS", "as_rgb", "center_square", "content_image",
               "fit_shorter_side", "load_image", "resize", "style_image", "to_uint8"),
    "losses": ("content_loss", "gram_matrix", "layer_style_loss", "style_loss",
               "total_variation_loss"),
    "optimise": ("initial_image", "loss_ratio", "make_objective", "transfer"),
    "vgg": ("CALIBRATION_PHOTOS", "CONTENT_LAYERS", "MEAN_BGR", "NETS", "POOLINGS",
            "STYLE_LAYERS", "FeatureExtractor", "deprocess", "feature_extractor", "filter_means",
            "keras_name", "layer_names", "min_side", "paper_name", "preprocess",
            "weights_fingerprint", "weights_path"),
    "plots": ("explore", "png_bytes", "show_images"),
}
MODULE_OF = {name: module for module, names in SOURCES.items() for name in names}

__all__ = [
    "CALIBRATION_PHOTOS", "CONTENT_LAYERS", "CONTENT_PHOTOS", "MEAN_BGR", "NETS", "PAINTINGS",
    "POOLINGS", "STYLE_LAYERS", "FeatureExtractor", "as_rgb", "center_square", "content_image",
    "content_loss", "deprocess", "explore", "feature_extractor", "filter_means",
    "fit_shorter_side", "gram_matrix", "initial_image", "keras_name", "layer_names",
    "layer_style_loss", "load_image", "loss_ratio", "make_objective", "min_side", "paper_name",
    "png_bytes", "preprocess", "resize", "show_images", "style_image", "style_loss", "to_uint8",
    "total_variation_loss", "transfer", "weights_fingerprint", "weights_path",
]


def __getattr__(name: str):
    if name not in MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{MODULE_OF[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
