"""The course tooling: notebook sync check and the student-version generator."""

import datetime as dt
import shutil
import subprocess
import sys

import jupytext
import nbformat
import pytest
import record_reference
import run_tests

import check_env
import test_latest
from conftest import ROOT
from make_student import strip_solutions
from notebooks import lesson_notebooks, sync_problems

EXERCISE = '''def f(x):
    """Doc."""
    # BEGIN SOLUTION
    # HINT: double it
    y = 2 * x
    return y
    # END SOLUTION

print(f)'''


def test_solution_replaced_by_stub_with_hint():
    source, count = strip_solutions(EXERCISE)
    assert count == 1
    assert "2 * x" not in source and "BEGIN" not in source
    assert "    raise NotImplementedError('double it')" in source
    namespace = {}
    exec(source.replace("print(f)", ""), namespace)
    with pytest.raises(NotImplementedError, match="double it"):
        namespace["f"](1)


def test_unclosed_solution_is_an_error():
    with pytest.raises(ValueError, match="no matching"):
        strip_solutions("# BEGIN SOLUTION\nx = 1")


SCRIPT = '''# %% [markdown]
# # Title

# %% tags=["parameters"]
from dlcourse import config
QUICK = config.quick_mode()

# %%
print(1)
'''


def pair(tmp_path, script=SCRIPT):
    py = tmp_path / "99_demo.py"
    py.write_text(script)
    notebook = jupytext.read(py)
    nbformat.write(notebook, tmp_path / "99_demo.ipynb")
    return tmp_path / "99_demo.ipynb", notebook


def test_sync_check_accepts_a_clean_pair(tmp_path):
    ipynb, _ = pair(tmp_path)
    assert sync_problems(ipynb) == []


def test_sync_check_finds_outputs_and_drift(tmp_path):
    ipynb, notebook = pair(tmp_path)
    notebook.cells[2].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    notebook.cells[2].source = "print(2)"
    nbformat.write(notebook, ipynb)
    problems = " ".join(sync_problems(ipynb))
    assert "stored outputs" in problems and "differs from 99_demo.py" in problems


def test_sync_check_wants_a_parameters_cell_reading_quick(tmp_path):
    ipynb, _ = pair(tmp_path, SCRIPT.replace('tags=["parameters"]', ""))
    assert "no cell tagged `parameters`" in " ".join(sync_problems(ipynb))
    hand_parsed = 'import os\nQUICK = os.environ.get("DLCOURSE_QUICK", "0") == "1"'
    ipynb, _ = pair(tmp_path, SCRIPT.replace("QUICK = config.quick_mode()", hand_parsed))
    assert "does not call config.quick_mode()" in " ".join(sync_problems(ipynb))


def test_second_make_does_not_reinstall():
    """The install stamp is newer than pyproject.toml, so `make install` installs nothing
    (`install` itself always runs: it only re-copies the course kernel when it differs)."""
    result = subprocess.run(["make", "--question", ".venv/.installed"], cwd=ROOT)
    assert result.returncode == 0, "make would reinstall the environment (run `make install`)"


# --- a broken environment ---------------------------------------------------------

@pytest.mark.slow  # about a second or more: asks pip about every installed package
def test_the_installed_environment_matches_the_pins():
    assert check_env.problems() == []


def test_test_latest_frees_only_the_packages_it_upgrades():
    """make test-latest reads the pins with check_env's parser (the one the environment check
    uses), leaves the packages it upgrades free and keeps every other pin and its marker."""
    pinned = check_env.pinned()
    lines = test_latest.requirements(pinned)
    assert len(lines) == len(pinned) == len(check_env.dependencies())
    for (name, version, marker), line in zip(pinned, lines, strict=True):
        requirement, _, kept_marker = line.partition("; ")
        upgraded = name in test_latest.UPGRADED
        assert requirement == (name if upgraded else f"{name}=={version}") and kept_marker == marker
    assert {name for name, _, _ in pinned} >= set(test_latest.UPGRADED)


def test_missing_and_wrong_versions_are_named(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\ndependencies = ["pytest==0.0.1", '
                         '"no-such-package-dlcourse==1.0", "numpy>=1"]\n')
    found = check_env.problems(pyproject)
    assert any(line.startswith("pytest 9.") and "0.0.1 is pinned" in line for line in found)
    assert "no-such-package-dlcourse is not installed (pinned 1.0)" in found
    assert not any("numpy" in line for line in found)  # only == pins are checked


def fake_checkout(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "check_env.py", tmp_path / "tools")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / ".installed").touch()
    return tmp_path


@pytest.mark.slow  # about a second or more: runs make in a subprocess
def test_make_reinstalls_when_a_pinned_package_is_missing(tmp_path):
    checkout = fake_checkout(tmp_path)
    (checkout / ".venv" / "bin" / "python").symlink_to(sys.executable)
    with open(checkout / "pyproject.toml", "a") as f:
        f.write("\n")
    text = (checkout / "pyproject.toml").read_text()
    (checkout / "pyproject.toml").write_text(
        text.replace('"pytest==9.2.0",', '"pytest==9.2.0",\n    "no-such-package-dlcourse==1.0",'))
    run = subprocess.run(["make", "--no-print-directory", "env-check"], cwd=checkout,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "no-such-package-dlcourse is not installed" in run.stdout
    assert "reinstalling" in run.stdout
    assert not (checkout / ".venv" / ".installed").exists()


def test_make_test_repeats_lessons_with_nbval_only_when_the_browser_did_not_run_them(tmp_path):
    """A lesson skipped for lack of Chromium goes to nbval; one skipped because its data
    files cannot be had here does not (nbval would stop on the same missing file)."""
    def report(skip_message):
        cases = "".join(
            f'<testcase name="test_lesson_runs_cleanly_in_the_browser[{nb.stem}]">'
            + (f'<skipped message="{skip_message}"/>' if i == 0 and skip_message else "")
            + "</testcase>" for i, nb in enumerate(lesson_notebooks()))
        path = tmp_path / "browser.xml"
        path.write_text(f"<testsuites><testsuite>{cases}</testsuite></testsuites>")
        return path

    assert run_tests.lessons_ran_in_browser(report(None))
    assert run_tests.lessons_ran_in_browser(report("needs data files: MissingDataError: mnist"))
    assert not run_tests.lessons_ran_in_browser(report("playwright is not installed"))
    assert not run_tests.lessons_ran_in_browser(tmp_path / "missing.xml")


def test_make_course_reports_an_unreadable_results_file_in_one_line(tmp_path, monkeypatch,
                                                                     capsys):
    import run_course

    (tmp_path / "results.json").mkdir()  # a folder where the results file should be
    monkeypatch.setattr(run_course, "BUILD", tmp_path)
    monkeypatch.setattr(run_course, "lesson_notebooks", lambda selected: [])
    monkeypatch.setattr(run_course, "run_with_deadline", lambda *args, **kwargs: 0)
    monkeypatch.setenv("QUICK", "1")
    assert run_course.main() == 1
    assert "results not shown:" in capsys.readouterr().out


@pytest.mark.slow  # about a second or more: waits out a background part's limit
def test_a_background_part_is_collected_with_its_log_and_stopped_at_its_limit(tmp_path,
                                                                             capsys):
    timings = []
    done = run_tests.Background("quick", [sys.executable, "-c", "print('resolved')"], 60,
                                tmp_path / "quick.log")
    done.finish(timings)
    stuck = run_tests.Background("stuck", [sys.executable, "-c", "import time; time.sleep(60)"],
                                 1, tmp_path / "stuck.log")
    stuck.finish(timings)
    assert [(name, ok) for name, ok, _ in timings] == [("quick", True), ("stuck", False)]
    assert timings[1][2] < 30
    out = capsys.readouterr().out
    assert "resolved" in out and "stuck exceeded its 1 s limit" in out


def _result(name, value, date, notebook="04_demo", mode="full", cpu="AMD EPYC"):
    return {"notebook": notebook, "name": name, "value": value, "unit": "bits/char",
            "mode": mode, "cpu": cpu, "cores": 2, "gpu": None, "date": date}


def test_a_reference_run_holds_only_that_runs_full_mode_results():
    results = [_result("LSTM held-out bpc", 2.14312345, "2026-12-07T21:10:00+00:00"),
               _result("old name", 9.0, "2026-11-30T10:00:00+00:00"),  # an earlier run
               _result("LSTM held-out bpc", 3.3, "2026-12-07T21:00:00+00:00", mode="quick"),
               _result("other lesson", 1.0, "2026-12-07T21:00:00+00:00", notebook="05_x")]
    since = dt.datetime.fromisoformat("2026-12-07T20:00:00+00:00")
    document = record_reference.reference(results, "04_demo", since, "make course at abc",
                                          "AVX2")
    assert document["results"] == {"LSTM held-out bpc": {"value": 2.143, "unit": "bits/char"}}
    assert document["hardware"] == "2 CPU cores (AMD EPYC), no GPU; AVX2"
    assert document["date"] == "2026-12-07" and document["source"].startswith("make course at abc")


def test_a_reference_run_refuses_no_results_and_mixed_machines():
    since = dt.datetime.fromisoformat("2026-12-07T20:00:00+00:00")
    with pytest.raises(ValueError, match="no full-mode results of 04_demo"):
        record_reference.reference([], "04_demo", since, "s")
    mixed = [_result("a", 1.0, "2026-12-07T21:00:00+00:00"),
             _result("b", 1.0, "2026-12-07T21:00:00+00:00", cpu="Intel Xeon")]
    with pytest.raises(ValueError, match="2 machines"):
        record_reference.reference(mixed, "04_demo", since, "s")


def test_record_reference_says_what_is_missing_and_writes_nothing(tmp_path, capsys):
    results = tmp_path / "results.json"
    results.write_text('{"results": []}')
    shipped = ROOT / "course" / "reference" / "04_rnn_unrolling_full.json"
    before = shipped.read_bytes()
    assert record_reference.main(["04_rnn_unrolling", "--since", "2026-12-07T20:00",
                                  "--source", "s", "--results", str(results)]) == 2
    assert "no full-mode results of 04_rnn_unrolling" in capsys.readouterr().err
    assert shipped.read_bytes() == before
