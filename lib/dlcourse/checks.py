"""Automatic checks for the exercises.

The convention in every lesson: the learner completes a function whose body sits
between ``# BEGIN SOLUTION`` and ``# END SOLUTION``; the next cell hands that
function to :func:`check_function`, which runs it on test cases and says in
plain words what is wrong. ``make student`` replaces each solution body with
``raise NotImplementedError(hint)``; the check then prints "not done yet" with
the hint instead of failing, so "Run all" still reaches the end.

In strict mode (``DLCOURSE_STRICT=1``: the tests and ``make course``) a wrong
answer raises ``AssertionError`` so the instructor notebooks prove every solution.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import config

__all__ = ["Case", "check_claim", "check_function", "explain_mismatch", "not_done_yet"]


@dataclass
class Case:
    """One test case: call ``fn(*args, **kwargs)`` and expect ``expected``."""

    args: tuple = ()
    expected: Any = None
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    def describe(self) -> str:
        if self.label:
            return self.label
        parts = [_short(a) for a in self.args]
        parts += [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return f"({', '.join(parts)})"


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def explain_mismatch(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """None when ``got`` matches ``expected``, else one plain sentence saying how it differs.

    Tells apart: a missing return value, a wrong type, a wrong shape (and whether
    it is the transpose), a wrong value at a given index, and plain numbers.
    """
    if got is None and expected is not None:
        return "the function returned None: did you forget the `return` statement?"
    if isinstance(expected, tuple) and not isinstance(got, tuple | list):
        return f"expected a tuple of {len(expected)} values, got {type(got).__name__}"
    if isinstance(expected, tuple):
        if len(got) != len(expected):
            return f"expected {len(expected)} values, got {len(got)}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = explain_mismatch(g, e, rtol, atol)
            if problem:
                return f"value {i} of the result: {problem}"
        return None
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        return _explain_array(np.asarray(got), np.asarray(expected), rtol, atol)
    if isinstance(expected, int | float | np.number) and not isinstance(expected, bool):
        if not isinstance(got, int | float | np.number) or isinstance(got, bool):
            return f"expected a number, got {type(got).__name__} {_short(got)}"
        if not np.isclose(got, expected, rtol=rtol, atol=atol):
            return f"expected {expected!r}, got {got!r}"
        return None
    if got != expected:
        return f"expected {expected!r}, got {got!r}"
    return None


def _explain_array(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str | None:
    if got.shape != expected.shape:
        if got.ndim == 2 and got.shape == expected.shape[::-1] and np.allclose(
                got.T, expected, rtol=rtol, atol=atol):
            return f"shape {got.shape} should be {expected.shape}: the result is transposed"
        return f"the result has shape {got.shape}, expected {expected.shape}"
    if not np.issubdtype(got.dtype, np.number) and got.dtype != bool:
        return f"expected numbers, got an array of dtype {got.dtype}"
    if np.isnan(got).any() and not np.isnan(expected).any():
        first = tuple(int(i) for i in np.argwhere(np.isnan(got))[0])
        return f"the result contains NaN (first at index {first})"
    close = np.isclose(got, expected, rtol=rtol, atol=atol)
    if close.all():
        return None
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(
            got.T, expected, rtol=rtol, atol=atol):
        return "the result is the transpose of the expected one"
    wrong = np.argwhere(~close)
    first = tuple(int(i) for i in wrong[0])
    return (f"{len(wrong)} of {got.size} values are wrong; the first is at index {first}: "
            f"got {got[first].item()!r}, expected {expected[first].item()!r}")


def check_function(name: str, fn: Callable, cases: Sequence[Case], *, hint: str = "",
                   compare: Callable[[Any, Any], str | None] | None = None,
                   rtol: float = 1e-6, atol: float = 1e-8) -> bool:
    """Run ``fn`` on every case and print a verdict; return True when all pass.

    compare(got, expected) -> message or None overrides the default comparison.
    """
    compare = compare or (lambda got, exp: explain_mismatch(got, exp, rtol, atol))
    for case in cases:
        try:
            got = fn(*case.args, **case.kwargs)
        except NotImplementedError as err:
            return not_done_yet(name, str(err) or hint)
        except Exception as err:  # the learner's code: any error is feedback, not a crash
            return _wrong(name, f"on {case.describe()} it raised {type(err).__name__}: {err}")
        problem = compare(got, case.expected)
        if problem:
            return _wrong(name, f"on {case.describe()}: {problem}")
    print(f"✓ {name}: correct on all {len(cases)} test cases.")
    return True


def check_claim(name: str, run: Callable[[], str | None], *, hint: str = "") -> bool:
    """A custom check: ``run()`` returns None when right, else what is wrong.

    Use it for checks that are not input/output pairs (a statistical test, a
    property). A NotImplementedError inside ``run`` counts as "not done yet".
    """
    try:
        problem = run()
    except NotImplementedError as err:
        return not_done_yet(name, str(err) or hint)
    if problem:
        return _wrong(name, problem)
    print(f"✓ {name}: correct.")
    return True


def not_done_yet(name: str, hint: str) -> bool:
    print(f"… {name}: not done yet. Hint: {hint}" if hint else f"… {name}: not done yet.")
    return False


def _wrong(name: str, message: str) -> bool:
    text = f"✗ {name}: {message}"
    if config.strict_checks():
        raise AssertionError(text)
    print(text)
    return False
