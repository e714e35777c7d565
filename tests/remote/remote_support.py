"""Helpers shared by the remote/ tests: paths, shims, process and port checks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from dlremote.ports import free_port  # noqa: F401 (re-exported to the remote tests)

ROOT = Path(__file__).resolve().parents[2]
REMOTE = ROOT / "remote"
TOOL = REMOTE / "dlcourse-remote"
COURSE_VENV = ROOT / ".venv"

SHIM_GPU = "NVIDIA Shim A100-SXM4-40GB"

NVIDIA_SMI_SHIM = f"""#!/bin/sh
# Stand-in for nvidia-smi: answers each --query-gpu field asked for (as dlcourse-remote and
# dlcourse.hardware ask), the compute-apps query, and the plain table.
fields=; units=1
for arg in "$@"; do
  case "$arg" in
    --query-gpu=*) fields=${{arg#--query-gpu=}} ;;
    --format=*nounits*) units= ;;
  esac
done
if [ -n "$fields" ]; then
  line=
  for field in $(echo "$fields" | tr ',' ' '); do
    case "$field" in
      index) value=0 ;;
      name) value="{SHIM_GPU}" ;;
      utilization.gpu) value="7${{units:+ %}}" ;;
      memory.used) value="1024${{units:+ MiB}}" ;;
      memory.total) value="40960${{units:+ MiB}}" ;;
      *) value="[N/A]" ;;
    esac
    line="${{line:+$line, }}$value"
  done
  echo "$line"
  exit 0
fi
case "$*" in
  *--query-compute-apps*) echo "4242, python, 900 MiB" ;;
  *) echo "| NVIDIA-SMI 550.00   Driver Version: 550.00   CUDA Version: 12.4 |"
     echo "|   0  {SHIM_GPU}   On |" ;;
esac
"""

# A jupyter that starts but never becomes ready: `lab` loops, `server list` lists nothing.
JUPYTER_NEVER_READY = """#!/bin/sh
case "$1" in
  lab) while :; do sleep 1; done ;;
  server) exit 0 ;;
esac
"""

# A python for `setup --remote-python`: passes the version check, makes a venv of shims,
# and logs every pip call instead of downloading anything.
FAKE_PYTHON = """#!/bin/sh
case "$1" in
  -c) exit 0 ;;
  --version) echo "Python 3.11.99 (fake)" ;;
  -m)
    if [ "$2" = venv ]; then
      mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "$0" "$3/bin/jupyter"
    else
      shift; echo "$*" >> "$(dirname "$0")/../pip.log"
    fi ;;
esac
"""


class SshServer:
    """What the tests need to know about the throwaway sshd."""

    def __init__(self, base: Path, port: int):
        self.base = base
        self.port = port
        self.key = base / "user_key"
        self.wrong_key = base / "wrong_key"
        self.config = base / "ssh_config"
        self.remote_home = base / "remote_home"
        self.shim_bin = base / "shim_bin"
        self.log = base / "sshd.log"
        self.closed_port = 0


def send_signal(pid: int, signal_number: int) -> None:
    try:
        os.kill(pid, signal_number)
    except ProcessLookupError:
        pass


def pids_matching(text: str) -> list:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if text in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def port_listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Tool:
    """Runs ``remote/dlcourse-remote`` as a learner would, with an isolated HOME."""

    def __init__(self, home: Path, server: SshServer):
        self.home = home
        self.server = server
        self.env = {name: value for name, value in os.environ.items()
                    if not name.startswith(("DLREMOTE_", "XDG_", "JUPYTER"))}
        self.env.update(HOME=str(home), BROWSER="true")

    @property
    def state_dir(self) -> Path:
        return self.home / ".local" / "state" / "dlcourse-remote"

    def __call__(self, *args, timeout: float = 120) -> subprocess.CompletedProcess:
        # in HOME: what the tool writes where it runs (fetch) stays out of the checkout
        return subprocess.run([sys.executable, str(TOOL), *map(str, args)], env=self.env,
                              cwd=self.home, capture_output=True, text=True, timeout=timeout)
