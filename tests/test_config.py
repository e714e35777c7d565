"""`dlcourse.config`: one reading of the on/off settings, in the package, every lesson's
parameters cell and `make course`."""

import ast
import os

import jupytext
import pytest

from dlcourse import config

import run_course
from conftest import ROOT

LESSONS = sorted((ROOT / "course").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize(("value", "quick"), [("1", True), (" 1 ", True), ("\t1\n", True),
                                              ("0", False), (" 0", False), ("", False),
                                              ("  ", False), (None, False)])
def test_quick_mode_reads_1_and_0_trimmed(monkeypatch, value, quick):
    if value is None:
        monkeypatch.delenv("DLCOURSE_QUICK", raising=False)
    else:
        monkeypatch.setenv("DLCOURSE_QUICK", value)
    assert config.quick_mode() is quick
    assert config.mode_name() == ("quick" if quick else "full")


@pytest.mark.parametrize("value", ["yes", "true", "True", "2", "on", "1 1", "-1"])
def test_any_other_quick_value_is_an_error_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("DLCOURSE_QUICK", value)
    with pytest.raises(config.SettingError, match=r"DLCOURSE_QUICK=.* set DLCOURSE_QUICK=1"):
        config.quick_mode()
    assert issubclass(config.SettingError, ValueError)


def quick_assignment(lesson) -> str:
    """The source of the statement setting QUICK in the lesson's parameters cell."""
    cell = next(c for c in jupytext.read(lesson).cells
                if "parameters" in c.metadata.get("tags", []))
    return next(ast.get_source_segment(cell.source, node) for node in ast.parse(cell.source).body
                if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "QUICK")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_reads_quick_as_the_package_does(lesson, monkeypatch):
    """' 1' used to give full sizes in the lesson while its results were recorded as quick;
    'yes' used to mean full mode without a word."""
    statement = quick_assignment(lesson)
    for value in (" 1", "1", "0", ""):
        monkeypatch.setenv("DLCOURSE_QUICK", value)
        scope = {"config": config, "os": os}
        exec(statement, scope)
        assert scope["QUICK"] is config.quick_mode(), (lesson.name, value)
    monkeypatch.setenv("DLCOURSE_QUICK", "yes")
    with pytest.raises(config.SettingError):
        exec(statement, {"config": config, "os": os})


def test_make_course_refuses_a_bad_quick_before_running_anything(monkeypatch, capsys):
    def must_not_run(*args, **kwargs):
        raise AssertionError("a notebook was started despite QUICK=yes")

    monkeypatch.setattr(run_course, "execute", must_not_run)
    monkeypatch.setattr(run_course, "run_with_deadline", must_not_run)
    for value in ("yes", "true", "2"):
        monkeypatch.setenv("QUICK", value)
        assert run_course.main() == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"QUICK={value!r}" in err and "QUICK=1" in err


def test_download_deadline_errors_are_setting_errors(monkeypatch):
    monkeypatch.setenv("DLCOURSE_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(config.SettingError, match="DLCOURSE_DOWNLOAD_DEADLINE"):
        config.download_deadline()


@pytest.mark.parametrize("value", ["yes", "true", "2"])
def test_strict_mode_is_read_by_the_same_parser(monkeypatch, value):
    monkeypatch.setenv("DLCOURSE_STRICT", value)
    with pytest.raises(config.SettingError, match="DLCOURSE_STRICT"):
        config.strict_checks()
