"""Argument checks every idea uses, so a bad input fails early with a plain message.

Each function returns the value in the form the caller computes with (an ``int``,
a ``float``, a float64 array) or raises ``TypeError`` (wrong kind of value) or
``ValueError`` (right kind, wrong value), naming the argument.

Array layouts are written as the docstrings write shapes, axes separated by commas:
``"N, H, W, C"``. A name stands for any size (the same name twice for the same size),
a number for exactly that size, and ``...`` first or last for any number of further
axes: ``"..., h, w"`` is two axes or more, the last two being h and w.
"""

import math
from numbers import Integral, Real

import numpy as np

__all__ = ["array", "axes", "choice", "count", "counts", "finite_number", "rate", "seed",
           "vector"]


def count(name: str, value, minimum: int = 1) -> int:
    """A whole number ``>= minimum`` (Python or NumPy integer, not a bool) as an ``int``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def counts(name: str, values, length: int | None = None, minimum: int = 1) -> tuple[int, ...]:
    """A non-empty sequence of whole numbers ``>= minimum`` (``length`` of them when given)
    as a tuple of ``int``.

    Raises TypeError for a value that is not a sequence or an entry that is not an integer,
    ValueError for the wrong number of entries or an entry below ``minimum`` (naming it).
    """
    try:
        items = tuple(values)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of integers, got {values!r}") from None
    if not items or (length is not None and len(items) != length):
        wanted = f"{length} integers" if length is not None else "at least one integer"
        raise ValueError(f"{name} must hold {wanted}, got {values!r}")
    return tuple(count(f"{name}[{i}]", item, minimum) for i, item in enumerate(items))


def finite_number(name: str, value, minimum: float | None = None,
                  strictly_above: float | None = None,
                  strictly_below: float | None = None) -> float:
    """A finite real number (not a bool, not complex) as a ``float``.

    minimum: the smallest value allowed; strictly_above / strictly_below: bounds the value
    must exceed / stay under.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    if strictly_above is not None and value <= strictly_above:
        raise ValueError(f"{name} must be greater than {strictly_above}, got {value}")
    if strictly_below is not None and value >= strictly_below:
        raise ValueError(f"{name} must be less than {strictly_below}, got {value}")
    return value


def rate(name: str, value) -> float:
    """A probability or fraction: a finite real number in [0, 1], as a ``float``."""
    value = finite_number(name, value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def seed(name: str, value, allow_none: bool = False) -> int | None:
    """A random seed: a whole number ``>= 0`` as an ``int`` (None too when ``allow_none``).

    NumPy's generators refuse negative seeds and strings with messages from deep inside
    ``SeedSequence``; this names the argument instead.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral):
        kinds = "a whole number >= 0" + (" or None" if allow_none else "")
        raise TypeError(f"{name} must be {kinds}, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def choice(name: str, value, options):
    """``value`` if it is one of ``options`` (such as ``("adam", "lbfgs")``), else ValueError
    listing them.

    An option matches only a value of its own type, so an array or a number is never
    compared with a name (NumPy would answer with an array, not True or False).
    """
    options = tuple(options)
    if not any(value is option or (isinstance(value, type(option)) and value == option)
               for option in options):
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")
    return value


def _fits(shape: tuple, names: list[str]) -> bool:
    """Whether ``shape`` fits one layout, given as its axis names (see the module's docstring)."""
    leading, trailing = names[0] == "...", names[-1] == "..."
    names = [axis for axis in names if axis != "..."]
    if len(shape) < len(names) or (len(shape) > len(names) and not (leading or trailing)):
        return False
    sizes: dict[str, int] = {}
    for axis, size in zip(names, shape[len(shape) - len(names):] if leading else shape,
                          strict=False):
        if size is None:  # an axis Keras does not know yet fits any size
            continue
        if size != (int(axis) if axis.isdigit() else sizes.setdefault(axis, size)):
            return False
    return True


def axes(name: str, shape, layout: str | tuple[str, ...]) -> tuple:
    """``shape`` as a tuple if it fits ``layout`` (one layout, or a tuple of those allowed),
    else ValueError naming the argument, each layout allowed and the shape got.

    shape: a NumPy shape, a TensorFlow ``TensorShape`` or a Keras tensor's shape (None, an
    axis not known yet, fits any size). For a tensor, which converting to NumPy would cut
    off from its gradient; :func:`array` checks everything else.
    """
    shape = tuple(shape)
    layouts = (layout,) if isinstance(layout, str) else tuple(layout)
    parsed = [[axis.strip() for axis in one.split(",")] for one in layouts]
    if not any(_fits(shape, names) for names in parsed):
        wanted = " or ".join(
            f"an array of {len(names) - 1} or more axes ({one})" if "..." in names
            else f"a {len(names)}-D array ({one})" for one, names in zip(layouts, parsed,
                                                                          strict=True))
        raise ValueError(f"{name} must be {wanted}, got shape {shape}")
    return shape


def array(name: str, value, layout: str | tuple[str, ...], *, dtype=None, finite: bool = False,
          convert: bool = True) -> np.ndarray:
    """``value`` as a NumPy array of real numbers whose shape fits ``layout`` (see :func:`axes`).

    dtype: the type returned (None keeps the input's); finite: refuse NaN and infinite
    entries (after the conversion to ``dtype``, where a float32 may overflow); convert:
    False refuses anything but a NumPy array (a layer that keeps its input for the backward
    pass), True accepts lists and other array-likes. Raises TypeError for non-numbers
    (strings, complex numbers, ragged lists), ValueError for the wrong shape or a NaN or
    infinite entry.
    """
    if not convert and not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except ValueError as err:  # a ragged list
        raise TypeError(f"{name} must be an array of numbers ({err})") from None
    if arr.dtype.kind not in "biuf":  # bool, int, unsigned, float
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    axes(name, arr.shape, layout)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if finite:
        bad = ~np.isfinite(arr)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name} must hold finite numbers; NaN or infinite values: "
                             f"{bad.sum()} of {bad.size}, the first "
                             f"{name}[{', '.join(map(str, first))}] = {arr[first]}")
    return arr


def vector(name: str, values, allow_empty: bool = False) -> np.ndarray:
    """A 1-D sequence of finite real numbers as a float64 array of shape ``(n,)``.

    allow_empty: accept n = 0. Raises TypeError for non-numbers (strings, complex,
    ragged lists) and ValueError for the wrong number of axes or a NaN/inf entry.
    """
    arr = array(name, values, "n", dtype=np.float64, finite=True)
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    return arr
