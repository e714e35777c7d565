"""What every idea of the course shares: shape arithmetic and argument checks.

``shapes``: output sizes, pair expansion and padding normalisation (the one
source: convolution, op counting and receptive fields all call it).
``validate``: counts, rates, finite numbers and vectors, with errors that name
the argument. Nothing here imports another part of ``dlcourse``.
"""

from .shapes import PADDINGS, is_int, normalize_padding, output_size, pad_amounts, pair
from .validate import count, finite_number, rate, seed, vector

__all__ = ["PADDINGS", "count", "finite_number", "is_int", "normalize_padding", "output_size",
           "pad_amounts", "pair", "rate", "seed", "vector"]
