"""Laptop-side checks: is a process alive, does Jupyter answer through the tunnel."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from dlremote.hostside import alive


def wait_gone(pid: int | None, seconds: float) -> bool:
    """Wait up to ``seconds`` for ``pid`` to exit (a zombie counts as gone, a process of
    another user as running); True if it did, or if there is no ``pid``."""
    deadline = time.monotonic() + seconds
    while pid and alive(pid, others_count=True):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


# Never go through an HTTP proxy for 127.0.0.1 (the token would leave the laptop).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def api_get(port: int, token: str, path: str = "/api/status", timeout: float = 5.0):
    """GET http://127.0.0.1:port/path with the token; the decoded JSON, or None on failure."""
    request = urllib.request.Request(f"http://127.0.0.1:{int(port)}{path}",
                                     headers={"Authorization": f"token {token}"})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return json.loads(response.read().decode())
    except (OSError, urllib.error.URLError, ValueError):
        return None


def url(port: int, token: str) -> str:
    return f"http://127.0.0.1:{int(port)}/lab?token={token}"


def command_line(pid: int) -> str:
    """The command line of ``pid`` ('' if unknown), to check a pid is still ours."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return file.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        pass
    import subprocess

    try:
        proc = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True,
                              text=True, timeout=5)
        return proc.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
