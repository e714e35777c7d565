"""What every idea of the course shares: shape arithmetic and argument checks.

``shapes``: output sizes, pair expansion and padding normalisation (the one
source: convolution, op counting and receptive fields all call it).
``validate``: counts, rates, finite numbers, seeds, choices among names, vectors and
arrays of a given layout (such as ``"N, H, W, C"``), with errors that name the
argument. Nothing here imports another part of ``dlcourse``.
"""

from .shapes import PADDINGS, is_int, normalize_padding, output_size, pad_amounts, pair
from .validate import array, axes, choice, count, counts, finite_number, rate, seed, vector

__all__ = ["PADDINGS", "array", "axes", "choice", "count", "counts", "finite_number", "is_int",
           "normalize_padding", "output_size", "pad_amounts", "pair", "rate", "seed", "vector"]
