"""Automatic checks for the exercises.

The convention in every lesson: the learner completes a function whose body sits
between ``# BEGIN SOLUTION`` and ``# END SOLUTION``; the next cell hands that
function to :func:`check_function`, which runs it on test cases and says in
plain words what is wrong. ``make student`` replaces each solution body with
``raise NotImplementedError(hint)``; the check then prints "not done yet" with
the hint instead of failing, so "Run all" still reaches the end.

In strict mode (``DLCOURSE_STRICT=1``: the tests and ``make course``) a wrong
answer raises ``AssertionError`` so the instructor notebooks prove every solution.
Whatever the learner's code does (raise any ``Exception``, return an answer the
comparison chokes on, never return) becomes such a verdict naming the case; a bad
argument from the lesson itself (a ``timeout`` of -1, no cases) is a
``TypeError``/``ValueError``.

How a learner's code is stopped. A SIGALRM alarm exists only on POSIX, in the main
thread; it replaces the caller's own handler and alarm, and a learner's ``except
BaseException`` inside a loop swallows it. Instead each call runs in a daemon worker
thread, and the caller only waits for it (in short waits, so Ctrl-C gets through),
touching no signal. The worker traces itself (``sys.settrace``) with a function
that lets everything pass until the deadline; then the caller marks the worker's
current frames (``sys._current_frames()``) so that their next line, and any later
call, raises :class:`CheckTimeout`. CPython drops a thread's trace function as
soon as it raises, so a learner's handler could swallow that one exception and
loop on; the exception's ``__del__``, which runs in the worker when the handler
lets go of it, turns the tracing back on, and the next line raises again. What
escapes is a learner who keeps every such exception alive, or code stuck in one
long C call: the check reports the time-out anyway and leaves the daemon thread
to end on its own. Tracing costs little but not nothing: with a trace function
installed CPython 3.11 does line bookkeeping on every bytecode, so a loop of NumPy
calls or of Python arithmetic runs 1.4 to 3 times slower in a check, which the
small cases absorb. A child process was the alternative, rejected: ``fork`` does
not exist on Windows, and a spawned process cannot receive a function defined in
a notebook.
"""

import contextvars
import copy
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from numbers import Number, Real
from typing import Any

import numpy as np

from . import config, core

__all__ = ["Case", "CheckTimeout", "assert_close", "check_claim", "check_function",
           "explain_mismatch",
           "not_done_yet"]

# Seconds a learner's function may run on one case (a claim: in all) before the check
# gives up on it.
DEFAULT_TIMEOUT = 30.0
# Seconds a worker past its deadline gets to stop before the check reports without it.
STOP_GRACE = 1.0


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
    try:
        text = repr(value)
    except Exception:  # a learner's broken __repr__, an int with too many digits
        text = f"<{type(value).__name__} object>"
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
        got = _as_real_scalar(got)
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


def _as_real_scalar(value: Any) -> Any:
    """A scalar tensor (TensorFlow's, or anything whose ``__array__`` gives one real number
    of shape ()) as a Python number; any other value unchanged."""
    if _is_real(value) or isinstance(value, bool | np.bool_) or not hasattr(value, "__array__"):
        return value
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - a learner's object: judged as it is
        return value
    return arr.item() if arr.shape == () and arr.dtype.kind in "iuf" else value


def _what(value: Any) -> str:
    """Kind and short form of a value: "a str 'abc'", "an array of shape (4, 5)"."""
    return _short(value) if isinstance(value, np.ndarray) else f"{_kind(value)} {_short(value)}"


def _kind(value: Any) -> str:
    """The kind of a value with its article: "a bool", "an int", "a generator"."""
    if isinstance(value, bool | np.bool_):
        return "a bool"
    if isinstance(value, complex | np.complexfloating):
        return "a complex number"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeioAEIO' else 'a'} {name}"  # "a uint8": u sounds like "you"


def _array_like(value: Any) -> bool:
    """True for what NumPy reads as numbers: arrays, numbers, lists, tuples, tensors."""
    return (isinstance(value, np.ndarray | np.generic | Number | list | tuple | range)
            or hasattr(value, "__array__"))


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
    expected = np.asarray(expected)
    if not _array_like(got):  # a dict or a generator is not a 0-d array of objects
        return f"expected an array of shape {expected.shape}, got {_what(got)}"
    try:
        got = np.asarray(got)
    except ValueError:
        return "the result is a ragged list (rows of different lengths), expected an array"
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


class _Interrupt(CheckTimeout):
    """Raised in a worker past its deadline; a learner's handler cannot keep it down.

    CPython drops the trace function that raised it, so ``except BaseException: pass``
    would end the interruption; when that handler frees this object (in the worker),
    ``__del__`` traces the worker again, so its next line raises once more.
    """

    def __del__(self):
        base = getattr(_worker, "base", None)  # None outside a worker running learner code
        if base is not None:
            _interrupt_frames(sys._getframe(1), base)
            sys.settrace(_interrupt)


# In a worker thread while it runs the learner's code: .base, the worker's own frame.
_worker = threading.local()


def _interrupt(frame, event, arg):
    """The trace function of a worker past its deadline: any event raises."""
    raise _Interrupt


def _interrupt_frames(frame, base) -> None:
    """Make ``frame`` and its callers up to ``base`` (excluded) raise at their next line.

    Nothing when ``base`` is not below ``frame``: the learner's code has returned.
    """
    frames = []
    while frame is not None and frame is not base:
        frames.append(frame)
        frame = frame.f_back
    if frame is base:
        for learner_frame in frames:
            learner_frame.f_trace = _interrupt


class _Worker(threading.Thread):
    """Runs ``call()`` in a daemon thread that :meth:`stop` interrupts at its next line."""

    def __init__(self, call: Callable[[], Any]):
        super().__init__(name="dlcourse-check", daemon=True)
        self.call = call
        self.context = contextvars.copy_context()  # the caller's np.errstate and the like
        self.expired = False
        self.base = None
        self.outcome: tuple[bool, Any] | None = None  # (returned, value or exception)
        # Set when the learner's code is over. Not is_alive(): in Python 3.11 a join()
        # interrupted by Ctrl-C marks a thread that is still running as stopped.
        self.finished = threading.Event()

    def run(self) -> None:
        self.context.run(self.work)

    def work(self) -> None:
        self.base = _worker.base = sys._getframe()
        sys.settrace(self.watch)
        try:
            self.outcome = (True, self.call())
        except BaseException as err:  # the caller raises it again
            self.outcome = (False, err)
        finally:
            sys.settrace(None)
            _worker.base = None
            self.finished.set()

    def watch(self, frame, event, arg):
        """Trace function until the deadline: sees only calls, asks for no line events."""
        if self.expired:
            _interrupt(frame, event, arg)

    def stop(self) -> None:
        self.expired = True  # first, so that a call made meanwhile raises too
        top = sys._current_frames().get(self.ident)
        if top is not None and self.base is not None:
            _interrupt_frames(top, self.base)


def _run_learner(call: Callable[[], Any], timeout: float | None) -> Any:
    """``call()`` run so that it can always be stopped; what it returns or raises.

    Raises :class:`CheckTimeout` when it has not returned after ``timeout`` seconds
    (None: no limit); the caller's signal handlers and alarms are left alone.
    """
    worker = _Worker(call)
    worker.start()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not worker.finished.is_set():  # short waits: Ctrl-C reaches the caller everywhere
            left = 0.1 if deadline is None else min(deadline - time.monotonic(), 0.1)
            if left <= 0:
                break
            worker.finished.wait(left)
    finally:  # past the deadline, or interrupted by the user
        if not worker.finished.is_set():
            worker.stop()
            worker.finished.wait(STOP_GRACE)
    if worker.outcome is None:  # stuck in C code: it stops when it returns to Python
        raise CheckTimeout
    returned, value = worker.outcome
    if not returned:
        raise value
    return value


def _error_text(err: BaseException) -> str:
    """The error's type and the first line of its message: "ValueError: ..."."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _timeout(timeout: float | None) -> float | None:
    """The caller's time limit checked: None or a finite number of seconds > 0."""
    return None if timeout is None else core.finite_number("timeout", timeout, strictly_above=0)


def _copy_arguments(case: "Case") -> tuple[tuple, dict, bool]:
    """Deep copies of a case's arguments for the call, and whether copying worked."""
    try:
        return copy.deepcopy(case.args), copy.deepcopy(case.kwargs), True
    except Exception:  # an argument that cannot be copied: hand over the original
        return case.args, case.kwargs, False


def _changed_argument(case: "Case", args: tuple, kwargs: dict) -> str | None:
    """Name of the first argument the call changed in place, however deep the change."""
    pairs = [(f"argument {i + 1}", a, b) for i, (a, b) in enumerate(zip(case.args, args,
                                                                         strict=True))]
    pairs += [(f"argument {k}=", case.kwargs[k], kwargs[k]) for k in case.kwargs]
    for name, before, after in pairs:
        if not _unchanged(before, after):
            return name
    return None


def _unchanged(before: Any, after: Any) -> bool:
    """Whether ``after``, a copy of ``before`` handed to the learner, is still equal to it.

    Arrays, lists, tuples, dicts, sets and plain values are compared exactly (NaN
    equals NaN), looking inside containers; other objects (a random generator that
    was drawn from) are not compared.
    """
    if isinstance(before, np.ndarray):
        if not (isinstance(after, np.ndarray) and after.dtype == before.dtype
                and after.shape == before.shape):
            return False
        if before.dtype == object:
            return _unchanged(before.tolist(), after.tolist())
        return before.tobytes() == after.tobytes()
    if isinstance(before, dict):
        return (isinstance(after, dict) and after.keys() == before.keys()
                and all(_unchanged(v, after[k]) for k, v in before.items()))
    if isinstance(before, list | tuple):
        return (type(after) is type(before) and len(after) == len(before)
                and all(_unchanged(b, a) for b, a in zip(before, after, strict=True)))
    if isinstance(before, Number | np.generic | str | bytes | bytearray | set | frozenset
                  | type(None)):
        return type(after) is type(before) and (
            before == after or (before != before and after != after))  # NaN stays NaN
    return True


def _judge(fn: Callable, args: tuple, kwargs: dict, expected: Any,
           compare: Callable[[Any, Any], str | None]) -> str | None:
    """Call the learner's ``fn`` and compare its answer: None when right, else what is wrong.

    An error while comparing (an int too large for a float, an ``__eq__`` that raises)
    comes from the answer, so it is the verdict; an error in ``fn`` propagates.
    """
    got = fn(*args, **kwargs)
    try:
        return compare(got, expected)
    except Exception as err:
        return (f"comparing your answer {_short(got)} with {_short(expected)} raised "
                f"{_error_text(err)}")


def check_function(name: str, fn: Callable, cases: Iterable[Case], *, hint: str = "",
                   compare: Callable[[Any, Any], str | None] | None = None,
                   rtol: float = 1e-6, atol: float = 1e-8,
                   timeout: float | None = DEFAULT_TIMEOUT) -> bool:
    """Run ``fn`` on every case and print a verdict; return True when all pass.

    compare(got, expected) -> message or None overrides the default comparison.
    A wrong answer is reported with ``hint`` repeated under it (so a learner who
    replaced the stub still sees it). Each call gets deep copies of the case's
    arguments; a function that changes one in place (even an array inside a tuple),
    raises, or runs longer than ``timeout`` seconds on a case (None: no limit) is
    judged wrong. Raises TypeError/ValueError for an empty ``cases``, an item that
    is not a :class:`Case`, or a ``timeout`` that is not a number > 0.
    """
    timeout = _timeout(timeout)
    cases = list(cases)
    if not cases:
        raise ValueError(f"check_function({name!r}): cases is empty; give at least one Case")
    for case in cases:
        if not isinstance(case, Case):
            raise TypeError(f"check_function({name!r}): cases must hold Case objects, "
                            f"got {_kind(case)}")
    compare = compare or (lambda got, exp: explain_mismatch(got, exp, rtol, atol))
    for case in cases:
        args, kwargs, copied = _copy_arguments(case)
        try:
            problem = _run_learner(partial(_judge, fn, args, kwargs, case.expected, compare),
                                   timeout)
        except NotImplementedError as err:
            return not_done_yet(name, str(err) or hint)
        except CheckTimeout:
            return _wrong(name, hint, f"on {case.describe()} it did not return within "
                                      f"{timeout:g} s: is there a loop that never ends?")
        except Exception as err:  # the learner's code: any error is feedback, not a crash
            return _wrong(name, hint, f"on {case.describe()} it raised {_error_text(err)}")
        changed = _changed_argument(case, args, kwargs) if copied else None
        if changed:
            return _wrong(name, hint, f"on {case.describe()} it changed its {changed} in place; "
                                "work on a copy (for example x = x.copy()) instead")
        if problem:
            return _wrong(name, hint, f"on {case.describe()}: {problem}")
    print(f"✓ {name}: correct on all {len(cases)} test cases.")
    return True


def check_claim(name: str, run: Callable[[], str | None], *, hint: str = "",
                timeout: float | None = DEFAULT_TIMEOUT) -> bool:
    """A custom check: ``run()`` returns None when right, else what is wrong.

    Use it for checks that are not input/output pairs (a statistical test, a
    property). A NotImplementedError inside ``run`` counts as "not done yet", any
    other error is the verdict; ``timeout`` (seconds, None: no limit) stops a run
    that never returns; a wrong answer repeats ``hint``. Raises TypeError/ValueError
    for a ``timeout`` that is not a number > 0.
    """
    timeout = _timeout(timeout)
    try:
        problem = _run_learner(run, timeout)
    except NotImplementedError as err:
        return not_done_yet(name, str(err) or hint)
    except CheckTimeout:
        return _wrong(name, hint, f"it did not finish within {timeout:g} s: is there a loop that "
                            "never ends?")
    except Exception as err:  # the learner's code, or the check choking on its result
        return _wrong(name, hint, f"it raised {_error_text(err)}")
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


def assert_close(what: str, got, expected, tol: float, relative: bool = False) -> float:
    """Print the largest difference between two results, then stop if it exceeds ``tol``.

    The lessons' check of a claim against an independent reference (TensorFlow, SciPy, a
    loop): the printed line (the difference and the tolerance) is the evidence, the assert
    the verdict. ``relative`` divides by the largest ``|expected|``. Shapes must agree
    exactly (no broadcasting). Returns the difference.
    """
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.shape != expected.shape:
        raise AssertionError(f"{what}: shape {got.shape} where {expected.shape} was expected")
    diff = float(np.max(np.abs(got - expected), initial=0.0))
    kind = "max |difference|"
    if relative:
        diff /= max(float(np.max(np.abs(expected), initial=0.0)), np.finfo(np.float64).tiny)
        kind = "largest relative difference"
    print(f"{what}: {kind} = {diff:.2e} (tolerance {tol:g})")
    if not diff <= tol:  # also stops on NaN
        raise AssertionError(f"{what}: {kind} {diff:.3g} exceeds the tolerance {tol:g}")
    return diff
