import _thread
import inspect
import signal
import threading
import time

import numpy as np
import pytest

from dlcourse import checks
from dlcourse.checks import Case


def square(x):
    return x * x


def test_correct_function_passes(capsys):
    assert checks.check_function("square", square, [Case((3,), 9), Case((2.0,), 4.0)])
    assert "✓ square: correct on all 2" in capsys.readouterr().out


def test_not_done_yet_prints_hint(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "1")  # even strict mode only reports it

    def stub(x):
        raise NotImplementedError("multiply x by itself")

    assert not checks.check_function("square", stub, [Case((3,), 9)])
    assert "not done yet. Hint: multiply x by itself" in capsys.readouterr().out


def test_wrong_answer_explained_or_raised_in_strict_mode(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert not checks.check_function("square", lambda x: x + x, [Case((3,), 9)])
    assert "on (3): expected 9, got 6" in capsys.readouterr().out
    monkeypatch.setenv("DLCOURSE_STRICT", "1")
    with pytest.raises(AssertionError, match="expected 9, got 6"):
        checks.check_function("square", lambda x: x + x, [Case((3,), 9)])


def test_exception_in_learner_code_is_feedback(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert not checks.check_function("f", lambda x: 1 / 0, [Case((1,), 1)])
    assert "raised ZeroDivisionError" in capsys.readouterr().out


@pytest.mark.parametrize("got, expected, phrase", [
    (None, 1, "returned None"),
    (None, np.zeros(2), "returned None"),
    (np.zeros((2, 3)), np.zeros((4, 2)), "has shape (2, 3), expected (4, 2)"),
    (np.arange(6.0).reshape(2, 3).T, np.arange(6.0).reshape(2, 3), "transposed"),
    (np.array([1.0, 2.0, 5.0]), np.array([1.0, 2.0, 3.0]), "index (2,): got 5.0, expected 3.0"),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 3.0], [2.0, 4.0]]), "transpose"),
    (np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "NaN"),
    ((1, 2), (1, 2, 3), "expected 3 values, got 2"),
    ((1, np.ones(2)), (1, np.zeros(2)), "value 1 of the result"),
    ("abc", 3, "expected a real number"),
    (2 + 0j, 2.0, "complex"),
    (np.complex128(2), 2.0, "complex"),
    (np.array([1 + 0j, 2]), np.array([1.0, 2.0]), "complex"),
    (True, 1, "bool"),
    (np.bool_(True), 1.0, "bool"),
    (np.array([True, False]), np.array([1.0, 0.0]), "True/False"),
    (1, True, "True or False"),
    ([[1, 2], [3, 4]], [[1, 2], [3]], "value 1 of the result"),
    ([[1, 2], [3]], [[1, 2], [3, 4]], "ragged"),
    ([[1, 2], [3]], np.zeros((2, 2)), "ragged"),
    ({"a": 1}, {"a": 1, "b": 2}, "lacks the key(s) 'b'"),
    ({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2}, "unexpected key(s) 'c'"),
    ({"a": np.ones(2)}, {"a": np.zeros(2)}, "at key 'a'"),
    ([1, 2], {"a": 1}, "expected a dict"),
    (float("nan"), 1.0, "expected 1.0, got nan"),
    ("x", [1, "a"], "expected a list of 2 values"),
])
def test_mismatch_explanations(got, expected, phrase):
    message = checks.explain_mismatch(got, expected)
    assert message is not None and phrase in message


def test_matching_values_give_no_message():
    assert checks.explain_mismatch(np.ones(3) + 1e-12, np.ones(3)) is None
    assert checks.explain_mismatch((2, np.eye(2)), (2, np.eye(2))) is None
    assert checks.explain_mismatch(float("nan"), float("nan")) is None
    assert checks.explain_mismatch(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) is None
    assert checks.explain_mismatch([[1, 2], [3]], [[1, 2], [3]]) is None
    assert checks.explain_mismatch([[1.0, 2.0], [3.0, 4.0]], [[1, 2], [3, 4]]) is None
    assert checks.explain_mismatch({"a": np.eye(2), "b": [1, "x"]},
                                   {"b": [1, "x"], "a": np.eye(2)}) is None
    assert checks.explain_mismatch(np.float32(0.5), 0.5) is None
    assert checks.explain_mismatch("abc", "abc") is None
    assert checks.explain_mismatch(True, True) is None


def test_a_function_that_changes_its_input_is_caught(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")

    def normalise_in_place(x):
        x /= x.sum()
        return x

    def normalise(x):
        return x / x.sum()

    case = Case((np.array([1.0, 3.0]),), np.array([0.25, 0.75]))
    assert not checks.check_function("normalise", normalise_in_place, [case])
    assert "changed its argument 1 in place" in capsys.readouterr().out
    np.testing.assert_array_equal(case.args[0], [1.0, 3.0])      # the case itself is intact
    assert checks.check_function("normalise", normalise, [case])

    def append_in_place(items, value=None):
        items.append(value)
        return len(items)

    assert not checks.check_function("append", append_in_place, [Case(([1],), 2)])
    rng_case = Case((np.random.default_rng(0),), 0.0)       # drawing from a generator is fine
    assert checks.check_function("draw", lambda rng: 0.0 * rng.random(), [rng_case])


@pytest.mark.slow  # about a second or more: waits out two time limits
def test_a_function_that_never_returns_times_out(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")

    def forever(x):
        while True:
            try:
                x += 1
            except Exception:  # a learner's catch-all must not swallow the time limit
                pass

    assert not checks.check_function("forever", forever, [Case((1,), 2)], timeout=0.3)
    assert "did not return within 0.3 s" in capsys.readouterr().out
    assert not checks.check_claim("forever", lambda: forever(0), timeout=0.3)
    assert "did not finish within 0.3 s" in capsys.readouterr().out
    # the alarm is cleared afterwards: a later slow call is not interrupted
    import time

    assert checks.check_function("sleepy", lambda: time.sleep(0.5) or 1, [Case((), 1)],
                                 timeout=2)
    time.sleep(0.5)                                  # no stray alarm fires after the check


def test_check_claim(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert checks.check_claim("fair coin", lambda: None)
    assert not checks.check_claim("fair coin", lambda: "heads came up 90% of the time")
    out = capsys.readouterr().out
    assert "✓ fair coin" in out and "✗ fair coin: heads came up" in out


def test_shapes_are_named_in_words():
    case = Case((np.zeros((4, 5)), 3), 1.0)
    assert case.describe() == "(an array of shape (4, 5), 3)"
    message = checks.explain_mismatch(np.zeros((4, 5)), {"a": 1})
    assert "an array of shape (4, 5)" in message and "array(4" not in message


def test_returned_none_is_said_plainly(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert not checks.check_function("square", lambda x: None, [Case((3,), 9)])
    assert "your function returned None" in capsys.readouterr().out


def test_a_wrong_answer_repeats_the_hint(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert not checks.check_function("square", lambda x: x + x, [Case((3,), 9)],
                                     hint="multiply x by itself")
    out = capsys.readouterr().out
    assert "expected 9, got 6" in out and "Hint: multiply x by itself" in out
    assert not checks.check_claim("claim", lambda: "too small", hint="look at the sign")
    assert "Hint: look at the sign" in capsys.readouterr().out
    assert not checks.check_function("square", lambda x: x + x, [Case((3,), 9)])
    assert "Hint" not in capsys.readouterr().out  # no hint given: none printed
    monkeypatch.setenv("DLCOURSE_STRICT", "1")
    with pytest.raises(AssertionError, match="Hint: multiply x by itself"):
        checks.check_function("square", lambda x: x + x, [Case((3,), 9)],
                              hint="multiply x by itself")


def _stubborn_loop(shape):
    """A learner's loop that swallows every exception, the check's time limit included.

    Returns (fn, counter): fn(x) loops, counting in counter[0]; it gives up after 5 s
    (returning "gave up"), so a check that cannot stop it fails instead of hanging.
    """
    counter = [0]

    def flat(x=None):
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                counter[0] += 1
            except BaseException:
                pass
        return "gave up"

    def nested(x=None):  # the loop that runs is inside the `try`: an interruption lands there
        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                while time.monotonic() < end:
                    counter[0] += 1
            except BaseException as err:
                str(err)
        return "gave up"

    def calling(x=None):  # the time is spent in a Python function called inside the `try`
        def step():
            for _ in range(100):
                counter[0] += 1

        end = time.monotonic() + 5
        while time.monotonic() < end:
            try:
                step()
            except BaseException:
                continue
        return "gave up"

    return {"flat": flat, "nested": nested, "calling": calling}[shape], counter


def _assert_stopped(counter):
    """The learner's loop no longer runs once the check has returned."""
    time.sleep(0.05)
    before = counter[0]
    time.sleep(0.3)
    assert counter[0] == before


@pytest.mark.slow  # about a second or more: waits out a time limit
@pytest.mark.parametrize("shape", ["flat", "nested", "calling"])
def test_a_loop_that_catches_base_exception_is_stopped(shape, monkeypatch, capsys):
    """Issue #26, 11: `except BaseException` inside a loop no longer defeats the time limit."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    forever, counter = _stubborn_loop(shape)
    start = time.monotonic()
    assert not checks.check_function("forever", forever, [Case((1,), 2)], timeout=0.5)
    assert time.monotonic() - start < 0.5 + 1.0
    assert "on (1) it did not return within 0.5 s" in capsys.readouterr().out
    _assert_stopped(counter)


@pytest.mark.slow  # about a second or more: waits out a time limit
def test_check_claim_has_a_default_time_limit(monkeypatch, capsys):
    """Issue #26, 11: a claim run without `timeout=` (lessons 07, 08) cannot hang."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    default = inspect.signature(checks.check_claim).parameters["timeout"].default
    assert default == checks.DEFAULT_TIMEOUT
    monkeypatch.setitem(checks.check_claim.__kwdefaults__, "timeout", 0.5)  # the default, shorter
    forever, counter = _stubborn_loop("nested")
    start = time.monotonic()
    assert not checks.check_claim("forever", forever)
    assert time.monotonic() - start < 0.5 + 1.0
    assert "did not finish within 0.5 s" in capsys.readouterr().out
    _assert_stopped(counter)


@pytest.mark.slow  # half a second or more
def test_interrupting_a_check_stops_the_learners_code_too():
    """Ctrl-C during a check with no time limit stops the learner's loop, not only the wait."""
    forever, counter = _stubborn_loop("nested")
    threading.Timer(0.3, _thread.interrupt_main).start()  # what Ctrl-C does
    with pytest.raises(KeyboardInterrupt):
        checks.check_function("forever", forever, [Case((1,), 2)], timeout=None)
    _assert_stopped(counter)


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="no SIGALRM on this platform")
def test_the_callers_alarm_and_handler_are_left_alone(monkeypatch, capsys):
    """Issue #26, 11: a check neither replaces the caller's SIGALRM handler nor eats its alarm."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    fired = []

    def handler(signum, frame):
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.alarm(30)
        forever, _ = _stubborn_loop("nested")
        assert not checks.check_function("forever", forever, [Case((1,), 2)], timeout=0.3)
        assert checks.check_function("one", lambda: 1, [Case((), 1)], timeout=2)
        assert signal.getsignal(signal.SIGALRM) is handler
        assert signal.alarm(0) >= 28 and not fired  # still pending, with its time left
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert "did not return within 0.3 s" in capsys.readouterr().out


@pytest.mark.slow  # about a second or more: waits out two time limits
def test_the_time_limit_works_without_sigalrm(monkeypatch, capsys):
    """Issue #33: on Windows (no SIGALRM, no signal.alarm) a check still times out."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    forever, counter = _stubborn_loop("flat")
    with monkeypatch.context() as windows:  # put back before any assert: pytest-timeout needs them
        windows.delattr(signal, "alarm", raising=False)
        windows.delattr(signal, "SIGALRM", raising=False)
        verdicts = [checks.check_function("forever", forever, [Case((1,), 2)], timeout=0.3),
                    checks.check_claim("forever", forever, timeout=0.3)]
    assert verdicts == [False, False]
    out = capsys.readouterr().out
    assert "did not return within 0.3 s" in out and "did not finish within 0.3 s" in out
    _assert_stopped(counter)


@pytest.mark.slow  # about a second or more: waits out a time limit and the stuck call
def test_a_function_stuck_outside_python_is_reported_in_time(monkeypatch, capsys):
    """A call that cannot be interrupted (a long C call) is still reported at the limit."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    start = time.monotonic()
    assert not checks.check_function("sleepy", lambda: time.sleep(3) or 1, [Case((), 1)],
                                     timeout=0.3)
    assert time.monotonic() - start < 0.3 + 1.5
    assert "did not return within 0.3 s" in capsys.readouterr().out


def _xor_with_floats(pop, rng):
    return pop ^ rng.random(pop.shape)  # lesson 07's slip: TypeError from NumPy


def _roulette_claim():
    draws = np.array([0.5, 1.5])  # lesson 07's roulette returning floats
    return None if np.bincount(draws).sum() == 2 else "wrong counts"


@pytest.mark.parametrize("run", [
    lambda: _xor_with_floats(np.zeros(3, bool), np.random.default_rng(0)),
    _roulette_claim,
])
def test_an_error_inside_a_claim_is_feedback(run, monkeypatch, capsys):
    """Issue #26, 17: an error in the learner's code, or in the check of its result, is reported."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert not checks.check_claim("claim", run, hint="look at the types")
    out = capsys.readouterr().out
    assert "✗ claim: it raised TypeError: " in out and "Hint: look at the types" in out
    monkeypatch.setenv("DLCOURSE_STRICT", "1")
    with pytest.raises(AssertionError, match="it raised TypeError"):
        checks.check_claim("claim", run)


class _BadEquality:
    def __eq__(self, other):
        raise RuntimeError("no comparing me")

    __hash__ = object.__hash__


@pytest.mark.parametrize("answer, expected, phrase", [
    (10**400, 1.0, "OverflowError: int too large to convert to float"),
    (_BadEquality(), "abc", "RuntimeError: no comparing me"),
])
def test_an_error_while_comparing_the_answer_is_feedback(answer, expected, phrase, monkeypatch,
                                                         capsys):
    """Issue #26, 17: an answer the comparison chokes on is reported, naming the case."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert not checks.check_function("f", lambda x: answer, [Case((3,), expected)])
    out = capsys.readouterr().out
    assert "✗ f: on (3): " in out and phrase in out
    monkeypatch.setenv("DLCOURSE_STRICT", "1")
    with pytest.raises(AssertionError, match=phrase):
        checks.check_function("f", lambda x: answer, [Case((3,), expected)])


@pytest.mark.parametrize("got, expected, phrase", [
    ({"a": 1}, np.zeros(3), "expected an array of shape (3,), got a dict"),
    ((v for v in range(3)), np.zeros(3), "expected an array of shape (3,), got a generator"),
    ("abc", np.zeros(3), "got a str"),
    (3, (1, 2), "expected a tuple of 2 values, got an int"),
    (np.int64(3), [1, "a"], "expected a list of 2 values, got an int64"),
    ([1], {"a": 1}, "expected a dict, got a list"),
])
def test_non_array_answers_are_named_with_the_right_article(got, expected, phrase):
    """Issue #26, 17: a dict or generator is not "shape ()"; "an int", not "a int"."""
    message = checks.explain_mismatch(got, expected)
    assert message is not None and phrase in message and "shape ()" not in message


def test_an_answer_whose_repr_fails_is_still_described():
    class NoRepr:
        def __repr__(self):
            raise RuntimeError("no repr")

    assert "NoRepr" in checks.explain_mismatch(NoRepr(), 1.0)


@pytest.mark.parametrize("timeout, error", [(-1, ValueError), (0, ValueError), ("5", TypeError),
                                            (float("nan"), ValueError)])
def test_a_bad_timeout_is_blamed_on_the_caller(timeout, error, monkeypatch):
    """Issue #26, 17: a bad `timeout` is the lesson's mistake, not the learner's."""
    monkeypatch.setenv("DLCOURSE_STRICT", "1")
    called = []
    with pytest.raises(error, match="timeout"):
        checks.check_function("f", called.append, [Case((1,), None)], timeout=timeout)
    with pytest.raises(error, match="timeout"):
        checks.check_claim("claim", lambda: called.append(1), timeout=timeout)
    assert not called


def test_an_empty_or_wrong_case_list_is_blamed_on_the_caller(monkeypatch):
    """Issue #26, 17: no more "correct on all 0 test cases"."""
    monkeypatch.setenv("DLCOURSE_STRICT", "1")
    with pytest.raises(ValueError, match="cases"):
        checks.check_function("square", square, [])
    with pytest.raises(TypeError, match="Case"):
        checks.check_function("square", square, [((3,), 9)])


def test_cases_may_be_a_generator(capsys):
    assert checks.check_function("square", square, (Case((n,), n * n) for n in range(3)))
    assert "correct on all 3 test cases" in capsys.readouterr().out


def _scale_first(pair):
    pair[0][:] *= 2  # changes the array inside the tuple
    return pair[0].sum()


@pytest.mark.parametrize("fn, args", [
    (_scale_first, ((np.ones(2), 1.0),)),
    (lambda d: d["w"].fill(0) or 0.0, ({"w": np.ones(2)},)),
    (lambda rows: rows[1].append(5) or 0.0, ([[1], [2]],)),
])
def test_a_change_deep_inside_an_argument_is_caught(fn, args, monkeypatch, capsys):
    """Issue #26, 17: an array changed inside a tuple, dict or list argument is seen."""
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert not checks.check_function("f", fn, [Case(args, 2.0)])
    assert "changed its argument 1 in place" in capsys.readouterr().out


def test_unchanged_nested_arguments_pass(capsys):
    """Generators inside containers are drawn from, not compared; NaN equals NaN."""
    args = ((np.random.default_rng(0), np.array([np.nan, 1.0])), {"k": [1, "x"]})
    assert checks.check_function("f", lambda pair, d: 0.0 * pair[0].random(), [Case(args, 0.0)])


def test_assert_close_prints_the_evidence_and_stops_beyond_the_tolerance(capsys):
    from dlcourse.checks import assert_close

    assert assert_close("tiny", [1.0, 2.0], [1.0, 2.0 + 1e-9], tol=1e-6) == pytest.approx(1e-9)
    assert "tiny: max |difference| = 1.00e-09 (tolerance 1e-06)" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="exceeds the tolerance"):
        assert_close("off", [1.0], [1.5], tol=0.1)
    with pytest.raises(AssertionError, match="exceeds"):
        assert_close("nan", [np.nan], [1.0], tol=0.1)
    with pytest.raises(AssertionError, match=r"shape \(2,\) where \(1, 2\)"):
        assert_close("broadcast", [1.0, 2.0], [[1.0, 2.0]], tol=0.1)
    assert assert_close("rel", [110.0], [100.0], tol=0.2, relative=True) == pytest.approx(0.1)


def test_a_scalar_tensor_answer_counts_as_a_real_number():
    """A loss written with TensorFlow returns a scalar tensor where a float is expected."""

    class ScalarTensor:  # what matters of tf.constant(2.0): __array__ of shape ()
        def __init__(self, value):
            self.value = value

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.value, dtype=dtype)

    assert checks.explain_mismatch(ScalarTensor(2.0), 2.0) is None
    assert checks.explain_mismatch(ScalarTensor(2.5), 2.0) == "expected 2.0, got 2.5"
    assert "real number" in checks.explain_mismatch(ScalarTensor([2.0, 3.0]), 2.0)
    assert "real number" in checks.explain_mismatch(ScalarTensor(True), 2.0)
