"""Shape arithmetic every convolution-like idea shares: one formula, one padding rule.

A window of length ``k`` moved by ``stride`` over an axis of length ``n`` padded
with ``before`` and ``after`` zeros has

    out = floor((n + before + after - k) / stride) + 1

positions (0 when the window does not fit even once). ``padding`` is one of

- ``"VALID"``: no padding;
- ``"SAME"``: TensorFlow's rule, ``ceil(n / stride)`` positions; the total padding
  ``max((out - 1) * stride + k - n, 0)`` is split with the odd one at the end
  (bottom/right);
- an int ``p``: ``p`` zeros on both sides of every axis;
- per axis, as frameworks accept it: ``(p_h, p_w)`` (symmetric on each axis) or
  ``((top, bottom), (left, right))``.

:func:`normalize_padding` turns any of these into ``"VALID"``, ``"SAME"`` or a
tuple of ``(before, after)`` pairs, one per spatial axis.
"""

from numbers import Integral

__all__ = ["PADDINGS", "is_int", "normalize_padding", "output_size", "pad_amounts", "pair"]

PADDINGS = ("VALID", "SAME")


def is_int(value) -> bool:
    """True for Python and NumPy integers; False for bools, floats and everything else."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints -> ``(int, int)``, each at least ``minimum``.

    Accepts NumPy integers and a list, tuple or 1-D array of two of them.
    Raises TypeError for anything else, ValueError for a value below ``minimum``.
    """
    items = (value, value) if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}") from None
    if len(items) != 2 or not all(is_int(v) for v in items):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def normalize_padding(padding, axes: int = 2):
    """``"VALID"``/``"SAME"`` (any case), or explicit padding as ``axes`` (before, after) pairs.

    padding: a name, an int p >= 0, ``axes`` ints (one per axis, both sides) or
    ``axes`` pairs ``(before, after)``. Returns the upper-case name or a tuple such
    as ``((1, 2), (0, 1))``. Raises ValueError for an unknown name, a negative
    amount or the wrong number of axes, TypeError for anything that is not padding.
    """
    if isinstance(padding, str):
        name = padding.upper()
        if name not in PADDINGS:
            raise ValueError(f"unknown padding {padding!r}: use 'VALID', 'SAME', an int >= 0, "
                             f"one int per axis or one (before, after) pair per axis")
        return name
    if is_int(padding):
        padding = (padding,) * axes
    try:
        per_axis = tuple(padding)
    except TypeError:
        raise TypeError(f"padding must be 'VALID', 'SAME', an int or per-axis amounts, "
                        f"got {padding!r}") from None
    if len(per_axis) != axes:
        raise ValueError(f"padding {padding!r} must give {axes} axes, got {len(per_axis)}")
    return tuple(pair(p, f"padding {padding!r}", minimum=0) for p in per_axis)


def pad_amounts(n: int, k: int, stride: int, padding) -> tuple[int, int]:
    """Zeros added ``(before, after)`` along one axis of length ``n`` for a window ``k``.

    padding: "VALID", "SAME", an int p (both sides) or a ``(before, after)`` pair.
    """
    if isinstance(padding, str):
        name = normalize_padding(padding)
        if name == "VALID":
            return 0, 0
        out = -(-n // stride)
        total = max((out - 1) * stride + k - n, 0)
        return total // 2, total - total // 2
    return pair(padding, "padding", minimum=0)


def output_size(n: int, k: int, stride: int = 1, padding="VALID") -> int:
    """Window positions along one axis: ``floor((n + before + after - k) / stride) + 1``, or 0.

    n: input length (>= 0), k: window length (>= 1), stride (>= 1); padding as in
    :func:`pad_amounts`. Returns 0 when the window does not fit in the padded axis
    (a layer refuses such an input; counting code may want the 0).
    """
    for value, name, least in ((n, "input size n", 0), (k, "kernel size k", 1),
                               (stride, "stride", 1)):
        if not is_int(value):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < least:
            raise ValueError(f"{name} must be at least {least}, got {value}")
    before, after = pad_amounts(n, k, stride, padding)
    padded = n + before + after
    return 0 if k > padded else (padded - k) // stride + 1
