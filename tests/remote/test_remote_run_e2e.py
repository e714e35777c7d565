"""End to end: `run`, `logs`, `fetch`, `stop` of a job and the idle shutdown, through the real
sshd of conftest.py. The "GPU host" is this machine (no GPU: the GPU check is skipped and
said so); its course environment is the repository's own .venv (setup --no-install).

The jobs are a stand-in for `make course` (STAND_IN: the same "=== NN_name" and papermill
"Executing Cell N" lines, build/results.json, build/executed/ and build/site/), so the
faults can be timed; one slow test runs the real `make course QUICK=1 NOTEBOOK=01`, with a
disconnect in lesson 01's third cell, `logs --follow` to its end and `fetch`.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .remote_support import COURSE_VENV, TOOL, pids_matching
from .test_remote_e2e import one_line_error

pytestmark = pytest.mark.e2e

STAND_IN = """\
# stand-in for `make course`: PAUSE seconds per cell, FAIL_AT a notebook that fails
for notebook in 01_alpha 02_beta 03_gamma; do
  echo "=== $notebook (quick mode)"
  echo "Executing notebook with kernel: python3"
  for cell in 1 2 3; do
    echo "Executing Cell $cell-----------------------------------------"
    echo "output of $notebook cell $cell"
    echo "Ending Cell $cell--------------------------------------------"
    sleep "${PAUSE:-0}"
  done
  if [ "$notebook" = "${FAIL_AT:-}" ]; then
    echo "!!! $notebook papermill exited with 1"; exit 1
  fi
  mkdir -p build/executed build/site
  echo '{"cells": []}' > "build/executed/$notebook.ipynb"
  echo "$notebook" >> build/done.txt
  printf '{"notebooks": "%s"}\\n' "$(tr '\\n' ' ' < build/done.txt)" > build/results.json
  echo "<h1>results</h1>" > build/site/index.html
done
echo "all notebooks ran"
"""


def _wait_until(condition, seconds: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def host(tool, tmp_path):
    """`setup` done (nothing installed: the checkout's .venv is the host's environment);
    returns (tool, the course folder on the host, the stand-in's path)."""
    if not (COURSE_VENV / "bin" / "python").exists():
        pytest.skip(f"no course environment at {COURSE_VENV}")
    course_dir = tmp_path / "course_on_host"
    setup = tool("setup", "dlr-test", "-F", tool.server.config, "--venv", COURSE_VENV,
                 "--no-install", "--remote-dir", course_dir, "--no-gpu-check")
    assert setup.returncode == 0, setup.stderr
    assert "GPU check skipped (--no-gpu-check)" in setup.stdout
    stand_in = tmp_path / "stand_in.sh"
    stand_in.write_text(STAND_IN)
    return tool, course_dir, stand_in


def jobs_on_host(tool) -> list:
    return sorted((tool.server.remote_home / ".dlcourse-remote" / "jobs").glob("2*"))


def test_run_disconnect_logs_follow_and_fetch(host, tmp_path):
    tool, course_dir, stand_in = host
    config = tool.server.config
    started = time.monotonic()
    run = subprocess.Popen([sys.executable, str(TOOL), "run", "dlr-test", "-F", str(config), "--",
                            "PAUSE=0.4", "sh", str(stand_in)], env=tool.env, cwd=tool.home,
                           text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # the course was synced, the job started and its progress reaches the laptop
    first = [run.stdout.readline() for _ in range(3)]
    assert first[0].startswith("syncing the course") and "started `PAUSE=0.4 sh" in first[1]
    assert first[2].rstrip().endswith("=== 01_alpha (quick mode)")
    first.append(run.stdout.readline())
    assert "01_alpha: cell 1" in first[3]
    assert (course_dir / "Makefile").exists() and (course_dir / "tools" / "run_course.py").exists()
    # the laptop sleeps: the ssh process following the job dies
    followers = [pid for pid in pids_matching(str(config)) if pid != run.pid]
    assert len(followers) == 1 and b"ssh" in Path(f"/proc/{followers[0]}/cmdline").read_bytes()
    os.kill(followers[0], signal.SIGKILL)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 255, out + err
    one_line_error(subprocess.CompletedProcess([], 255, out, err), "lost the connection",
                   "the job goes on there", f"{TOOL} logs dlr-test --follow")
    (job,) = jobs_on_host(tool)
    assert not (job / "exit").exists(), "the job ended with the connection"
    disconnected = time.monotonic() - started

    follow = tool("logs", "dlr-test", "-F", config, "--follow", timeout=60)
    assert follow.returncode == 0, follow.stdout + follow.stderr
    lines = follow.stdout.splitlines()
    assert any("03_gamma: cell 3" in line for line in lines)
    assert "all notebooks ran" in follow.stdout
    assert lines[-1].endswith("] exit status 0") and "job ended" not in follow.stdout  # once
    assert "output of" not in follow.stdout  # cell outputs only with --all
    assert "output of 02_beta cell 2" in tool("logs", "dlr-test", "-F", config, "--all").stdout
    assert (job / "exit").read_text().strip() == "0"
    followed = time.monotonic() - started

    fetched = tool("fetch", "dlr-test", "-F", config, "--into", tmp_path / "results")
    assert fetched.returncode == 0, fetched.stderr
    folder = tmp_path / "results" / f"dlr-test-{datetime.date.today()}"
    assert json.loads((folder / "build" / "results.json").read_text()) == {
        "notebooks": "01_alpha 02_beta 03_gamma "}
    assert sorted(path.name for path in (folder / "build" / "executed").iterdir()) == [
        "01_alpha.ipynb", "02_beta.ipynb", "03_gamma.ipynb"]
    assert (folder / "build" / "site" / "index.html").exists()
    assert "results.json, 3 executed notebook(s), the site" in fetched.stdout
    (folder / "my_notes.txt").write_text("mine")
    again = tool("fetch", "dlr-test", "-F", config, "--into", tmp_path / "results")
    assert again.returncode == 0 and (tmp_path / "results" / f"{folder.name}-2").is_dir()
    assert (folder / "my_notes.txt").read_text() == "mine"  # a previous fetch is kept as it was
    # the session, for `pytest -s`: what a learner sees, with timings
    print("\n$ dlcourse-remote run dlr-test -- PAUSE=0.4 sh stand_in.sh", *first, out, err,
          f"(exit {run.returncode} after {disconnected:.1f} s)",
          "$ dlcourse-remote logs dlr-test --follow", follow.stdout,
          f"(exit {follow.returncode}; the end seen {followed:.1f} s after the start)",
          "$ dlcourse-remote fetch dlr-test", fetched.stdout,
          f"(done {time.monotonic() - started:.1f} s after the start)", sep="\n")


def test_a_failing_third_notebook_still_fetches_the_first_two(host, tmp_path):
    tool, _, stand_in = host
    run = tool("run", "dlr-test", "-F", tool.server.config, "--fetch", "--into", tmp_path, "--",
               "FAIL_AT=03_gamma", "sh", stand_in, timeout=60)
    assert run.returncode == 1  # the job's own exit status
    one_line_error(run, "ended with exit status 1", f"{TOOL} logs dlr-test --all")
    assert "!!! 03_gamma papermill exited with 1" in run.stdout
    folder = Path(run.stdout.split(" into ")[1].split(":")[0])
    assert sorted(path.name for path in (folder / "build" / "executed").iterdir()) == [
        "01_alpha.ipynb", "02_beta.ipynb"]
    assert "01_alpha 02_beta" in (folder / "build" / "results.json").read_text()


def test_second_run_status_and_stop(host):
    tool, _, stand_in = host
    config = tool.server.config
    first = subprocess.Popen([sys.executable, str(TOOL), "run", "dlr-test", "-F", str(config), "--",
                              "PAUSE=5", "sh", str(stand_in)], env=tool.env, cwd=tool.home,
                             text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until(lambda: jobs_on_host(tool) and (jobs_on_host(tool)[0] / "log").exists()
                    and "Executing Cell" in (jobs_on_host(tool)[0] / "log").read_text(),
                    what="the first job's first cell")
        second = tool("run", "dlr-test", "-F", config, "--", "true")
        one_line_error(second, "a job is already running on dlr-test", "PAUSE=5 sh",
                       f"{TOOL} logs dlr-test --follow", f"{TOOL} stop dlr-test")
        assert len(jobs_on_host(tool)) == 1
        shown = tool("status", "dlr-test", "-F", config)
        assert shown.returncode == 0, shown.stdout + shown.stderr  # no session, but a job runs
        assert "`PAUSE=5 sh" in shown.stdout and "running for 0 min" in shown.stdout
        assert "  at:      [0:00:0" in shown.stdout and "01_alpha: cell " in shown.stdout
        stopped = tool("stop", "dlr-test", "-F", config)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stderr
        first.communicate(timeout=30)
        assert first.returncode == 143  # TERM: the job's own status, followed to its end
        assert pids_matching("PAUSE=5") == []
        done = tool("status", "dlr-test", "-F", config)
        assert done.returncode == 1 and "ended with exit status 143" in done.stdout
    finally:
        first.kill()
        first.communicate()


def test_fetch_with_nothing_to_fetch(host):
    tool, course_dir, _ = host
    run = tool("fetch", "dlr-test", "-F", tool.server.config)
    one_line_error(run, "nothing to fetch on dlr-test", str(course_dir), f"{TOOL} run dlr-test")
    assert not list(tool.home.glob("dlr-test-*"))  # no empty folder either


def test_idle_host_shuts_itself_down(host, tmp_path):
    tool, _, _ = host
    record = tmp_path / "shutdown_record"
    recorder = tool.server.shim_bin / "shutdown"  # first on the host's PATH
    recorder.write_text(f'#!/bin/sh\necho "$(date +%s.%N) $*" >> {record}\n')
    recorder.chmod(0o755)
    try:
        run = tool("run", "dlr-test", "-F", tool.server.config, "--stop-after-idle", "0.02",
                   "--", "sleep", "2", timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"shuts itself down ({recorder} -h now) after 0.02 min" in run.stdout
        _wait_until(record.exists, 30, "the idle shutdown")
        when, args = record.read_text().split(" ", 1)
        assert args.strip() == "-h now"
        (job,) = jobs_on_host(tool)
        # idle for 0.02 min (1.2 s) after the job: counted from the watcher's last look at
        # the running job, which may come up to one poll (0.5 s) before the job's end
        assert float(when) >= (job / "exit").stat().st_mtime + 1.2 - 0.5
        log = (tool.server.remote_home / ".dlcourse-remote" / "idle.log").read_text()
        assert f"idle for 0.02 min: {recorder} -h now" in log
    finally:
        recorder.unlink()


@pytest.mark.slow
def test_real_make_course_quick_notebook_01(host, tmp_path):
    """The issue's session with the real command: run, a disconnect, logs --follow, fetch."""
    tool, course_dir, _ = host
    config = tool.server.config
    started = time.monotonic()
    run = subprocess.Popen([sys.executable, str(TOOL), "run", "dlr-test", "-F", str(config), "--",
                            "make", "course", "QUICK=1", "NOTEBOOK=01"], env=tool.env,
                           cwd=tool.home, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    shown = []
    while not shown or "01_convolution_arithmetic: cell 3/" not in shown[-1]:
        shown.append(run.stdout.readline())
        assert shown[-1], "run ended before lesson 01's third cell"
    (follower,) = [pid for pid in pids_matching(str(config)) if pid != run.pid]
    os.kill(follower, signal.SIGKILL)  # the laptop sleeps in the middle of lesson 01
    out, err = run.communicate(timeout=60)
    shown.append(out)
    assert run.returncode == 255 and "the job goes on there" in err, out + err
    disconnected = time.monotonic() - started
    follow = tool("logs", "dlr-test", "-F", config, "--follow", timeout=540)
    assert follow.returncode == 0, follow.stdout[-3000:] + follow.stderr
    assert "01_convolution_arithmetic: cell 3/" in follow.stdout
    followed = time.monotonic() - started
    fetched = tool("fetch", "dlr-test", "-F", config, "--into", tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    folder = tmp_path / f"dlr-test-{datetime.date.today()}"
    assert (folder / "build" / "executed" / "01_convolution_arithmetic.ipynb").exists()
    assert (folder / "build" / "site" / "index.html").exists()
    assert json.loads((folder / "build" / "results.json").read_text())
    assert not (course_dir / ".venv").exists()  # make used the host's environment as it is
    print("\n$ dlcourse-remote run dlr-test -- make course QUICK=1 NOTEBOOK=01", "".join(shown),
          err, f"(exit {run.returncode} after {disconnected:.0f} s)",
          "$ dlcourse-remote logs dlr-test --follow", follow.stdout,
          f"(exit {follow.returncode} at {followed:.0f} s)", "$ dlcourse-remote fetch dlr-test",
          fetched.stdout, f"(done at {time.monotonic() - started:.0f} s)", sep="\n")
