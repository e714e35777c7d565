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
    (None, 1, "forget the `return`"),
    (np.zeros((2, 3)), np.zeros((4, 2)), "has shape (2, 3), expected (4, 2)"),
    (np.arange(6.0).reshape(2, 3).T, np.arange(6.0).reshape(2, 3), "transposed"),
    (np.array([1.0, 2.0, 5.0]), np.array([1.0, 2.0, 3.0]), "index (2,): got 5.0, expected 3.0"),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 3.0], [2.0, 4.0]]), "transpose"),
    (np.array([np.nan, 1.0]), np.array([0.0, 1.0]), "NaN"),
    ((1, 2), (1, 2, 3), "expected 3 values, got 2"),
    ((1, np.ones(2)), (1, np.zeros(2)), "value 1 of the result"),
    ("abc", 3, "expected a number"),
])
def test_mismatch_explanations(got, expected, phrase):
    message = checks.explain_mismatch(got, expected)
    assert message is not None and phrase in message


def test_matching_values_give_no_message():
    assert checks.explain_mismatch(np.ones(3) + 1e-12, np.ones(3)) is None
    assert checks.explain_mismatch((2, np.eye(2)), (2, np.eye(2))) is None


def test_check_claim(monkeypatch, capsys):
    monkeypatch.setenv("DLCOURSE_STRICT", "0")
    assert checks.check_claim("fair coin", lambda: None)
    assert not checks.check_claim("fair coin", lambda: "heads came up 90% of the time")
    out = capsys.readouterr().out
    assert "✓ fair coin" in out and "✗ fair coin: heads came up" in out
