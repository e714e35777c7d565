"""End to end: the real tool, a real sshd on 127.0.0.1, a real JupyterLab behind the tunnel.

The "GPU host" is this machine reached through the throwaway sshd of conftest.py;
its course environment is the repository's own .venv (setup-lite: nothing installed).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from dlremote import envspec

from .remote_support import (
    COURSE_VENV,
    FAKE_PYTHON,
    JUPYTER_NEVER_READY,
    ROOT,
    SHIM_GPU,
    TOOL,
    free_port,
    pids_matching,
    port_listening,
)

pytestmark = pytest.mark.e2e

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def api(port: int, token: str, path: str, method: str = "GET", data: bytes | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {token}"})
    with NO_PROXY.open(request, timeout=20) as response:
        body = response.read()
        return response.status, (json.loads(body) if body else None)


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """The run failed with exactly one stderr line that contains every needle."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dlcourse-remote: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def nothing_left(tool, *ports: int) -> None:
    for port in ports:
        assert not port_listening(port), f"port {port} still listening"
    assert pids_matching(str(tool.server.config)) == [], "an ssh process is left"
    for marker in (str(tool.home.parent), str(tool.server.remote_home)):
        assert pids_matching(marker) == [], "a remote process is left"
    assert not any(tool.state_dir.glob("*.json")), "a state file is left"
    assert not any(tool.state_dir.glob("*.html")), "a page with the token is left"


def _wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def course_venv():
    if not (COURSE_VENV / "bin" / "jupyter").exists():
        pytest.skip(f"no course environment with jupyter at {COURSE_VENV}")
    return COURSE_VENV


def test_session_end_to_end(tool, course_venv, tmp_path):
    config = tool.server.config
    course_dir = tmp_path / "course_on_host"
    remote_port = free_port()

    setup = tool("setup", "dlr-test", "-F", config, "--venv", course_venv, "--no-install",
                 "--remote-dir", course_dir, "--no-gpu-check")
    assert setup.returncode == 0, setup.stderr
    assert (course_dir / "pyproject.toml").exists() and (course_dir / "lib" / "dlcourse").is_dir()
    requirements = (course_dir / ".dlcourse-requirements.txt").read_text()
    assert "tensorflow[and-cuda]==" in requirements  # the host is Linux
    recorded = tool.server.remote_home / ".dlcourse-remote"
    assert (recorded / "venv").read_text().strip() == str(course_venv)

    # start reads venv and folder from what setup recorded on the host
    start = tool("start", "dlr-test", "-F", config, "--remote-port", remote_port, "--no-browser",
                 "--timeout", 60, "--verbose")
    assert start.returncode == 0, start.stderr
    url = next(line for line in start.stdout.splitlines() if line.startswith("http://127.0.0.1:"))
    local_port = int(url.split(":")[2].split("/")[0])
    token = url.split("token=")[1]
    assert local_port != remote_port and len(token) >= 32

    state_file = next(tool.state_dir.glob("*.json"))
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"
    # the token is nowhere but the terminal and the private state file
    assert token not in (recorded / f"jupyter-{remote_port}.log").read_text()  # masked there
    assert token not in next(tool.state_dir.glob("*.ssh.log")).read_text()
    assert "+ ssh " in start.stderr and token not in start.stderr  # -v shows commands, not it

    status, body = api(local_port, token, "/api/status")
    assert status == 200 and "started" in body
    with pytest.raises(urllib.error.HTTPError):  # the token is really required
        api(local_port, "wrong-token", "/api/kernels")
    status, kernel = api(local_port, token, "/api/kernels", "POST", b"{}")
    assert status == 201 and kernel["id"]
    _, kernels = api(local_port, token, "/api/kernels")
    assert kernel["id"] in {listed["id"] for listed in kernels}

    shown = tool("status", "dlr-test", "-F", config)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "tunnel:  up" in shown.stdout and "answers /api/status: 1 kernel(s)" in shown.stdout
    assert SHIM_GPU in shown.stdout and token not in shown.stdout
    assert token in tool("status", "dlr-test", "--url").stdout

    again = tool("start", "dlr-test", "-F", config, "--remote-port", remote_port, "--no-browser")
    assert again.returncode == 0 and "already running" in again.stdout

    # the laptop sleeps: the tunnel dies, the server and its kernel live on
    ssh_pid = json.loads(state_file.read_text())["ssh_pid"]
    os.kill(ssh_pid, signal.SIGTERM)
    _wait_until(lambda: not port_listening(local_port))
    down = tool("status", "dlr-test")
    assert down.returncode == 1 and "tunnel:  DOWN" in down.stdout
    # this time with a browser: a stand-in that records its command line
    browser_args = tmp_path / "browser_args"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {browser_args}\n')
    browser.chmod(0o755)
    tool.env["BROWSER"] = str(browser)
    back = tool("start", "dlr-test", "-F", config, "--remote-port", remote_port)
    assert back.returncode == 0 and "reconnecting" in back.stdout, back.stdout + back.stderr
    assert f"http://127.0.0.1:{local_port}/lab?token={token}" in back.stdout  # same URL
    opened = browser_args.read_text().strip()
    assert token not in opened and opened.startswith("file://")  # `ps` shows no token
    page = tool.state_dir / opened.rsplit("/", 1)[1]
    assert oct(page.stat().st_mode & 0o777) == "0o600"
    assert f"url=http://127.0.0.1:{local_port}/lab?token={token}" in page.read_text()
    _, kernels = api(local_port, token, "/api/kernels")
    assert kernel["id"] in {listed["id"] for listed in kernels}

    status, _ = api(local_port, token, f"/api/kernels/{kernel['id']}", "DELETE")
    assert status == 204

    for _ in range(2):  # idempotent
        stopped = tool("stop", "dlr-test", "-F", config)
        assert stopped.returncode == 0, stopped.stderr
    nothing_left(tool, local_port, remote_port)
    after = tool("status", "dlr-test")
    assert after.returncode == 1 and "not running" in after.stdout


def test_full_setup_creates_the_venv_and_installs_the_pins(tool, tmp_path):
    fake_python = tmp_path / "python3.11"
    fake_python.write_text(FAKE_PYTHON)
    fake_python.chmod(0o755)
    course_dir = tmp_path / "dlcourse"
    run = tool("setup", "dlr-test", "-F", tool.server.config, "--remote-dir", course_dir,
               "--remote-python", fake_python, "--no-gpu-check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Using " in run.stdout and "ready: start JupyterLab" in run.stdout
    venv = course_dir / ".venv"
    pip = (venv / "pip.log").read_text().splitlines()
    assert pip == ["pip install --upgrade pip",
                   f"pip install -r {course_dir}/.dlcourse-requirements.txt",
                   f"pip install --no-deps -e {course_dir}"]
    pins = (course_dir / ".dlcourse-requirements.txt").read_text().split()
    assert any(pin.startswith("tensorflow[and-cuda]==") for pin in pins) and len(pins) > 10
    recorded = tool.server.remote_home / ".dlcourse-remote"
    assert (recorded / "venv").read_text().strip() == str(venv)
    assert (recorded / "course_dir").read_text().strip() == str(course_dir)


def test_setup_without_a_suitable_python(tool, tmp_path):
    run = tool("setup", "dlr-test", "-F", tool.server.config, "--remote-dir", tmp_path / "c",
               "--remote-python", "python2.7-missing", "--no-gpu-check")
    requires = envspec.read_spec(ROOT / "pyproject.toml")[1]  # the course's own range
    one_line_error(run, f"no suitable Python ({requires})",
                   "the --remote-python python2.7-missing is not found;")


def test_gpu_check_uses_nvidia_smi_and_tensorflow(tool, course_venv):
    run = tool("gpu", "dlr-test", "-F", tool.server.config, "--venv", course_venv, timeout=180)
    assert SHIM_GPU in run.stdout and "Driver Version" in run.stdout
    # the shim convinces nvidia-smi, not TensorFlow (no GPU here): a clear error
    assert "TensorFlow" in run.stdout and "sees 0 GPU(s)" in run.stdout
    one_line_error(run, "TensorFlow sees no GPU", "tensorflow[and-cuda]")


def test_unreachable_host(tool):
    run = tool("start", "dlr-down", "-F", tool.server.config, "--no-browser")
    one_line_error(run, "cannot reach dlr-down", "Connection refused")
    nothing_left(tool)


def test_wrong_key_is_refused(tool):
    run = tool("start", "dlr-wrongkey", "-F", tool.server.config, "--no-browser")
    one_line_error(run, "refused the login", "Permission denied")
    nothing_left(tool)


def test_key_with_loose_permissions(tool, tmp_path):
    loose = tmp_path / "loose_key"
    shutil.copy(tool.server.key, loose)
    os.chmod(loose, 0o644)
    run = tool("start", "dlr-test", "-F", tool.server.config, "-i", loose, "--no-browser")
    one_line_error(run, f"chmod 600 {loose}", "mode 644")
    nothing_left(tool)


def test_local_port_taken(tool, course_venv):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = tool("start", "dlr-test", "-F", tool.server.config, "--venv", course_venv,
                   "--local-port", port, "--no-browser")
    one_line_error(run, f"local port {port} is already in use")
    nothing_left(tool)


def test_remote_port_taken_is_reported_not_retried(tool, course_venv):
    with socket.socket() as busy:  # the "host" is this machine: hold its port
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        remote_port = busy.getsockname()[1]
        run = tool("start", "dlr-test", "-F", tool.server.config, "--venv", course_venv,
                   "--remote-port", remote_port, "--no-browser", "--timeout", 60)
        one_line_error(run, "exited while starting", f"port {remote_port} is taken on the host")
    nothing_left(tool)


def test_remote_without_its_environment_says_to_run_setup(tool):
    # nothing recorded by setup and no ~/dlcourse/.venv on the host
    run = tool("start", "dlr-test", "-F", tool.server.config, "--no-browser")
    one_line_error(run, "no course environment on dlr-test",
                   f"{tool.server.remote_home}/dlcourse/.venv does not exist",
                   f"run `{TOOL} setup dlr-test` first")
    nothing_left(tool)
    run = tool("setup", "dlr-test", "-F", tool.server.config, "--no-install", "--no-copy",
               "--venv", "~/dlcourse/.venv", "--no-gpu-check")
    one_line_error(run, f"no environment at {tool.server.remote_home}/dlcourse/.venv",
                   "leave out --no-install", f"{TOOL} setup dlr-test")


def test_remote_without_jupyter(tool, tmp_path):
    empty = tmp_path / "empty_venv"
    (empty / "bin").mkdir(parents=True)
    run = tool("start", "dlr-test", "-F", tool.server.config, "--venv", empty, "--no-browser")
    one_line_error(run, "no JupyterLab on dlr-test", "setup")
    nothing_left(tool)


def test_server_never_ready_times_out_and_cleans_up(tool, tmp_path):
    fake = tmp_path / "fake_venv"
    (fake / "bin").mkdir(parents=True)
    shim = fake / "bin" / "jupyter"
    shim.write_text(JUPYTER_NEVER_READY)
    shim.chmod(0o755)
    remote_port = free_port()
    run = tool("start", "dlr-test", "-F", tool.server.config, "--venv", fake, "--no-browser",
               "--remote-port", remote_port, "--timeout", 3)
    one_line_error(run, "was not ready within 3 s")
    nothing_left(tool, remote_port)

