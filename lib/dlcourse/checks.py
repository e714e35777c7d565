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

import contextlib
import copy
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np

from . import config

__all__ = ["Case", "CheckTimeout", "check_claim", "check_function", "explain_mismatch",
           "not_done_yet"]

# Seconds a learner's function may run on one case before the check gives up on it.
DEFAULT_TIMEOUT = 30.0


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
        return f"an array of shape {value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def explain_mismatch(got: Any, expected: Any, rtol: float = 1e-6, atol: float = 1e-8) -> str | None:
    """None when ``got`` matches ``expected``, else one plain sentence saying how it differs.

    Tells apart: a missing return value, a wrong type (complex or True/False where a
    real number is expected), a wrong shape (and whether it is the transpose), a
    wrong value at a given index, a missing or extra dict key, and plain numbers.
    NaN matches NaN. Tuples, ragged lists and dicts are compared item by item;
    rectangular lists of numbers like arrays.
    """
    if got is None and expected is not None:
        return "your function returned None: is the `return` statement missing?"
    if isinstance(expected, dict):
        return _explain_dict(got, expected, rtol, atol)
    if isinstance(expected, tuple) or (isinstance(expected, list) and not _is_numeric(expected)):
        return _explain_sequence(got, expected, rtol, atol)
    if isinstance(expected, np.ndarray | list) or isinstance(got, np.ndarray):
        return _explain_array(got, expected, rtol, atol)
    if _is_real(expected):
        if not _is_real(got):
            return f"expected a real number, got {_what(got)}"
        if not np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
            return f"expected {expected!r}, got {got!r}"
        return None
    if isinstance(expected, bool | np.bool_) and not isinstance(got, bool | np.bool_):
        return f"expected True or False, got {_what(got)}"
    try:
        same = bool(got == expected)
    except (TypeError, ValueError):  # an array-like `==`: no single truth value
        same = False
    return None if same else f"expected {_short(expected)}, got {_short(got)}"


def _is_real(value: Any) -> bool:
    """A real number that is not True/False (Python or NumPy)."""
    return (isinstance(value, Real) and not isinstance(value, bool | np.bool_)
            and not isinstance(value, np.ndarray))


def _what(value: Any) -> str:
    """Kind and short form of a value: "a str 'abc'", "an array of shape (4, 5)"."""
    return _short(value) if isinstance(value, np.ndarray) else f"{_kind(value)} {_short(value)}"


def _kind(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "a bool"
    if isinstance(value, complex | np.complexfloating):
        return "a complex number"
    return f"a {type(value).__name__}"


def _is_numeric(items: list) -> bool:
    """True when ``items`` is a rectangular (nested) list of numbers: compare it as an array."""
    try:
        arr = np.asarray(items)
    except ValueError:  # ragged
        return False
    return arr.dtype != object and (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool)


def _explain_dict(got: Any, expected: dict, rtol: float, atol: float) -> str | None:
    if not isinstance(got, dict):
        return f"expected a dict, got {_what(got)}"
    missing = [k for k in expected if k not in got]
    if missing:
        return f"the dict lacks the key(s) {', '.join(map(repr, missing))}"
    extra = [k for k in got if k not in expected]
    if extra:
        return f"the dict has unexpected key(s) {', '.join(map(repr, extra))}"
    for key, value in expected.items():
        problem = explain_mismatch(got[key], value, rtol, atol)
        if problem:
            return f"at key {key!r}: {problem}"
    return None


def _explain_sequence(got: Any, expected: tuple | list, rtol: float, atol: float) -> str | None:
    kind = "tuple" if isinstance(expected, tuple) else "list"
    if not isinstance(got, tuple | list | np.ndarray):
        return f"expected a {kind} of {len(expected)} values, got {_kind(got)}"
    if len(got) != len(expected):
        return f"expected {len(expected)} values, got {len(got)}"
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        problem = explain_mismatch(g, e, rtol, atol)
        if problem:
            return f"value {i} of the result: {problem}"
    return None


def _explain_array(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    try:
        got = np.asarray(got)
    except ValueError:
        return "the result is a ragged list (rows of different lengths), expected an array"
    expected = np.asarray(expected)
    if got.shape != expected.shape:
        if got.ndim == 2 and got.shape == expected.shape[::-1] and _numeric(got) and np.allclose(
                got.T, expected, rtol=rtol, atol=atol):
            return f"shape {got.shape} should be {expected.shape}: the result is transposed"
        return f"the result has shape {got.shape}, expected {expected.shape}"
    if not _numeric(got):
        return f"expected numbers, got an array of dtype {got.dtype}"
    if got.dtype == bool and expected.dtype != bool:
        return "expected numbers, got an array of True/False values"
    if (np.issubdtype(got.dtype, np.complexfloating)
            and not np.issubdtype(expected.dtype, np.complexfloating)):
        return "expected real numbers, got complex ones (is an imaginary part left over?)"
    if np.isnan(got).any() and not np.isnan(expected).any():
        first = tuple(int(i) for i in np.argwhere(np.isnan(got))[0])
        return f"the result contains NaN (first at index {first})"
    close = np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
    if close.all():
        return None
    if got.ndim == 2 and got.shape[0] == got.shape[1] and np.allclose(
            got.T, expected, rtol=rtol, atol=atol):
        return "the result is the transpose of the expected one"
    wrong = np.argwhere(~close)
    first = tuple(int(i) for i in wrong[0])
    return (f"{len(wrong)} of {got.size} values are wrong; the first is at index {first}: "
            f"got {got[first].item()!r}, expected {expected[first].item()!r}")


def _numeric(arr: np.ndarray) -> bool:
    return arr.dtype == bool or np.issubdtype(arr.dtype, np.number)


class CheckTimeout(BaseException):
    """A learner's function ran past the check's time limit.

    A BaseException, so a learner's ``except Exception`` cannot swallow it.
    """


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise :class:`CheckTimeout` in the main thread after ``seconds`` (no limit elsewhere)."""
    usable = (seconds and hasattr(signal, "SIGALRM")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def stop(signum, frame):
        raise CheckTimeout

    previous = signal.signal(signal.SIGALRM, stop)
    start = time.monotonic()
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay > 0:  # someone else's alarm (a test runner's timeout): put it back
            left = max(outer_delay - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, outer_interval)


def _copy_arguments(case: "Case") -> tuple[tuple, dict, bool]:
    """Deep copies of a case's arguments for the call, and whether copying worked."""
    try:
        return copy.deepcopy(case.args), copy.deepcopy(case.kwargs), True
    except Exception:  # an argument that cannot be copied: hand over the original
        return case.args, case.kwargs, False


def _changed_argument(case: "Case", args: tuple, kwargs: dict) -> str | None:
    """Name of the first data argument (array, list, dict, set) the call changed in place."""
    pairs = [(f"argument {i + 1}", a, b) for i, (a, b) in enumerate(zip(case.args, args,
                                                                         strict=True))]
    pairs += [(f"argument {k}=", case.kwargs[k], kwargs[k]) for k in case.kwargs]
    for name, before, after in pairs:
        if not isinstance(before, np.ndarray | list | dict | set | bytearray):
            continue  # a number, a string, a random generator...: nothing to compare
        if explain_mismatch(after, before, rtol=0, atol=0) is not None:
            return name
    return None


def check_function(name: str, fn: Callable, cases: Sequence[Case], *, hint: str = "",
                   compare: Callable[[Any, Any], str | None] | None = None,
                   rtol: float = 1e-6, atol: float = 1e-8,
                   timeout: float | None = DEFAULT_TIMEOUT) -> bool:
    """Run ``fn`` on every case and print a verdict; return True when all pass.

    compare(got, expected) -> message or None overrides the default comparison.
    A wrong answer is reported with ``hint`` repeated under it (so a learner who
    replaced the stub still sees it). Each call gets copies of the case's arguments;
    a function that changes its
    input in place, or runs longer than ``timeout`` seconds (None: no limit; only
    enforced in the main thread, where notebooks run), is judged wrong.
    """
    compare = compare or (lambda got, exp: explain_mismatch(got, exp, rtol, atol))
    for case in cases:
        args, kwargs, copied = _copy_arguments(case)
        try:
            with _time_limit(timeout):
                got = fn(*args, **kwargs)
        except NotImplementedError as err:
            return not_done_yet(name, str(err) or hint)
        except CheckTimeout:
            return _wrong(name, hint, f"on {case.describe()} it did not return within "
                                      f"{timeout:g} s: is there a loop that never ends?")
        except Exception as err:  # the learner's code: any error is feedback, not a crash
            return _wrong(name, hint, f"on {case.describe()} it raised {type(err).__name__}: {err}")
        changed = _changed_argument(case, args, kwargs) if copied else None
        if changed:
            return _wrong(name, hint, f"on {case.describe()} it changed its {changed} in place; "
                                "work on a copy (for example x = x.copy()) instead")
        problem = compare(got, case.expected)
        if problem:
            return _wrong(name, hint, f"on {case.describe()}: {problem}")
    print(f"✓ {name}: correct on all {len(cases)} test cases.")
    return True


def check_claim(name: str, run: Callable[[], str | None], *, hint: str = "",
                timeout: float | None = None) -> bool:
    """A custom check: ``run()`` returns None when right, else what is wrong.

    Use it for checks that are not input/output pairs (a statistical test, a
    property). A NotImplementedError inside ``run`` counts as "not done yet";
    ``timeout`` (seconds, None: no limit) stops a run that never returns; a wrong
    answer repeats ``hint``.
    """
    try:
        with _time_limit(timeout):
            problem = run()
    except NotImplementedError as err:
        return not_done_yet(name, str(err) or hint)
    except CheckTimeout:
        return _wrong(name, hint, f"it did not finish within {timeout:g} s: is there a loop that "
                            "never ends?")
    if problem:
        return _wrong(name, hint, problem)
    print(f"✓ {name}: correct.")
    return True


def not_done_yet(name: str, hint: str) -> bool:
    print(f"… {name}: not done yet. Hint: {hint}" if hint else f"… {name}: not done yet.")
    return False


def _wrong(name: str, hint: str, message: str) -> bool:
    """Report a wrong answer, repeating the exercise's hint (when there is one)."""
    text = f"✗ {name}: {message}" + (f"\n  Hint: {hint}" if hint else "")
    if config.strict_checks():
        raise AssertionError(text)
    print(text)
    return False
