"""`make lab` starts JupyterLab on localhost with the course open and its token printed."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from dlremote.ports import free_port

from conftest import ROOT


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def running_servers(env) -> list[dict]:
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "jupyter"), "server", "list", "--json"],
                         capture_output=True, text=True, env=env, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.slow
def test_make_lab_serves_the_course_with_a_token(tmp_path):
    port = free_port()
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    log = open(tmp_path / "lab.log", "w+")
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"PORT={port}",
                            "LAB_ARGS=--no-browser"], cwd=ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        servers = []
        while not servers and time.monotonic() < deadline and lab.poll() is None:
            time.sleep(0.5)
            servers = [s for s in running_servers(env) if s["port"] == port]
        assert servers, f"no server on port {port}; log:\n{(tmp_path / 'lab.log').read_text()}"
        server = servers[0]
        assert server["hostname"] in ("127.0.0.1", "localhost")
        assert server["root_dir"] == str(ROOT / "course")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                         headers={"Authorization": f"token {server['token']}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200 and "started" in json.load(response)
        deadline = time.monotonic() + 10
        while server["token"] not in (tmp_path / "lab.log").read_text():
            assert time.monotonic() < deadline, "make lab did not print the URL with its token"
            time.sleep(0.2)
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
            lab.wait(timeout=30)
    deadline = time.monotonic() + 10
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_open(port), "the server kept listening after it was stopped"
