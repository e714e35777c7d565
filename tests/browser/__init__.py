"""Helpers of the browser tests: Debian's Chromium, and JupyterLab started as `make lab` does.

Chromium comes from Debian's ``chromium`` package (``/usr/bin/chromium``), installed here
with apt-get when it is missing and we may (root, apt-get present); Playwright drives it
through ``executable_path``, so no browser is ever downloaded. Where it cannot be had the
tests are skipped with the reason.
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dlremote.ports import free_port  # the one free_port, shared with remote/

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "build" / "screens"
CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
# Settings of the test's own (empty) user-settings folder, on top of the course's defaults:
# never autosave (the server serves course/ itself, whose notebooks carry no outputs), and
# every cell in the page (no windowing), so all outputs can be read.
TEST_USER_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def chromium() -> Path:
    """``/usr/bin/chromium``, installing Debian's package first when it is missing."""
    if CHROMIUM.exists():
        return CHROMIUM
    why = None
    if os.geteuid() != 0:
        why = "not root, so apt-get cannot install it"
    elif not shutil.which("apt-get"):
        why = "no apt-get on this machine"
    else:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "chromium"]):
            try:
                run = subprocess.run(command, env=env, capture_output=True, text=True,
                                     timeout=900)
            except subprocess.TimeoutExpired:
                why = f"`{' '.join(command)}` ran past 900 s"
                break
            if run.returncode:
                why = f"`{' '.join(command)}` failed: {run.stderr.strip()[-300:]}"
                break
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium ({CHROMIUM}) is missing and could not be installed: "
                    f"{why or 'apt-get ran but installed no /usr/bin/chromium'}")
    return CHROMIUM


def launch(playwright):
    """A headless Chromium from Debian's package, driven by ``playwright``."""
    return playwright.chromium.launch(executable_path=str(chromium()), args=LAUNCH_ARGS,
                                      headless=True)


class Lab:
    """A JupyterLab server started by ``make lab``: its base URL, token and log."""

    def __init__(self, port: int, token: str, log: Path):
        self.port, self.token, self.log = port, token, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str = "lab") -> str:
        glue = "&" if "?" in path else "?"
        return f"{self.base}/{path}{glue}token={self.token}"

    def api(self, path: str, method: str = "GET"):
        """JSON from the server's REST API at ``path`` (e.g. "api/kernels")."""
        request = urllib.request.Request(f"{self.base}/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self, notebook: str | None = None) -> None:
        """Shut down every kernel, or only those of the sessions of ``notebook`` (a path
        relative to the server's root, e.g. "00_setup.ipynb")."""
        if notebook is None:
            for kernel in self.api("api/kernels"):
                self.api(f"api/kernels/{kernel['id']}", method="DELETE")
            return
        for session in self.api("api/sessions"):
            if session.get("path") == notebook:
                self.api(f"api/sessions/{session['id']}", method="DELETE")


@contextlib.contextmanager
def lab_server(workdir: Path, env_extra: dict[str, str], timeout: float = 120):
    """Start ``make lab`` on a free port with a fresh token; yields a ``Lab``.

    User settings, workspaces, runtime and config folders live under ``workdir``, so
    nothing of a previous session (or of the person running the tests) leaks in; the
    course's own Jupyter settings come from the Makefile, as for a learner.
    """
    port, token = free_port(), secrets.token_hex(16)
    settings = workdir / "user-settings"
    for name, values in TEST_USER_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(workdir / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
               JUPYTER_CONFIG_DIR=str(workdir / "config"), **env_extra)
    env.pop("MPLBACKEND", None)  # the learner's kernel draws inline, not with Agg
    # The token reaches Jupyter Server through a file only this user can read: on a command
    # line (make's or jupyter-lab's) `ps` would show it to every local user, and in
    # JUPYTER_TOKEN every kernel would inherit it (which also takes precedence over the file).
    token_file = workdir / "token"
    token_file.touch(mode=0o600)
    token_file.write_text(token)
    env.pop("JUPYTER_TOKEN", None)
    env["JUPYTER_TOKEN_FILE"] = str(token_file)
    command = ["make", "--no-print-directory", "lab", f"PORT={port}", "LAB_ARGS=--no-browser"]
    bindir = Path(sys.executable).parent
    if bindir != ROOT / ".venv" / "bin":
        # Tests run from another environment (make test-latest): serve from that one, and
        # leave .venv's check and install steps out.
        command += [f"BIN={bindir}", "-o", "env-check", "-o", ".venv/.installed"]
    log = workdir / "lab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    lab = Lab(port, token, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"make lab exited with {process.returncode}:\n"
                                   f"{log.read_text()[-3000:]}")
            try:
                if "started" in lab.api("api/status"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n"
                                   f"{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield lab
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
