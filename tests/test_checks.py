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


def test_an_outer_alarm_survives_a_check():
    """A test runner's own SIGALRM timeout is put back (with the time left) after a check."""
    import signal

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 5.0)
        assert checks.check_function("one", lambda: 1, [Case((), 1)], timeout=2)
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 4.0 < left <= 5.0 and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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
