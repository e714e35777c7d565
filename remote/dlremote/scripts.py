"""The POSIX sh scripts run on the host (sent on ssh's stdin).

Each prints machine-readable lines starting with ``DLREMOTE_`` for the laptop
side; everything else is for humans. Paths starting with ``~/`` are expanded on
the host. Values are quoted with shlex, so no setting can inject shell code.
"""

from __future__ import annotations

import shlex
from pathlib import Path

STATE = '"$HOME/.dlcourse-remote"'

# Exit statuses of the scripts (the laptop side turns them into messages).
NO_JUPYTER = 3
NO_PYTHON = 4
NO_VENV_MODULE = 5
PIP_FAILED = 6
NO_DIR = 7
NO_ENV = 8  # the virtual environment itself is missing
NO_SPACE = 10
NOTHING_TO_FETCH = 12


def path_expr(path: str) -> str:
    """A shell word for ``path`` on the host, with a leading ``~`` meaning $HOME."""
    if path == "~":
        return '"$HOME"'
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def locate(venv: str | None, remote_dir: str | None) -> str:
    """Set DIR and VENV: the given values, else what `setup` recorded, else ~/dlcourse."""
    lines = [
        "set -u",
        "umask 077",
        f"STATE={STATE}",
        'recorded() { [ -r "$STATE/$1" ] && head -n 1 "$STATE/$1"; }',
        f"DIR={path_expr(remote_dir)}" if remote_dir else
        'DIR=$(recorded course_dir || true); [ -n "$DIR" ] || DIR="$HOME/dlcourse"',
        f"VENV={path_expr(venv)}" if venv else
        'VENV=$(recorded venv || true); [ -n "$VENV" ] || VENV="$DIR/.venv"',
        'JUPYTER="$VENV/bin/jupyter"',
        # ours PID PORT: true while PID is alive, not a zombie, and still our server
        "ours() {",
        '  if command -v ps >/dev/null 2>&1; then',
        '    PROCESS_STATE=$(ps -o stat= -p "$1" 2>/dev/null) || return 1',
        '    case "$PROCESS_STATE" in ""|Z*) return 1;; esac',
        '    ps -o args= -p "$1" 2>/dev/null | grep -qE -- "--ServerApp[.]port=$2( |\\$)"',
        '  else kill -0 "$1" 2>/dev/null; fi',
        "}",
    ]
    return "\n".join(lines) + "\n"


def need_jupyter() -> str:
    """Exit NO_ENV when the venv is missing, NO_JUPYTER when it lacks jupyter."""
    return f"""\
if [ ! -x "$JUPYTER" ]; then
  if [ -d "$VENV" ]; then echo "DLREMOTE_NOJUPYTER $JUPYTER"; exit {NO_JUPYTER}; fi
  echo "DLREMOTE_NOENV $VENV"; exit {NO_ENV}
fi
"""


def start(venv, remote_dir, remote_port: int, token: str) -> str:
    """Launch JupyterLab detached (nohup + setsid: survives logout), loopback only.

    The token travels in the environment (JUPYTER_TOKEN), never on a command line,
    and JupyterLab then prints it masked in its log.
    """
    args = " ".join([
        "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={int(remote_port)}",
        "--ServerApp.port_retries=0", '"--ServerApp.root_dir=$DIR"',
    ])
    return locate(venv, remote_dir) + need_jupyter() + f"""\
[ -d "$DIR" ] || DIR="$HOME"
mkdir -p "$STATE"
LOG="$STATE/jupyter-{int(remote_port)}.log"
cd "$DIR" || exit {NO_DIR}
JUPYTER_TOKEN={shlex.quote(token)}
export JUPYTER_TOKEN
# container GPU hosts (RunPod, vast.ai...) log in as root; Jupyter refuses that by default
ROOT=--ServerApp.allow_root=False
[ "$(id -u)" = 0 ] && ROOT=--ServerApp.allow_root=True
if command -v setsid >/dev/null 2>&1; then
  nohup setsid "$JUPYTER" {args} $ROOT >"$LOG" 2>&1 </dev/null &
else
  nohup "$JUPYTER" {args} $ROOT >"$LOG" 2>&1 </dev/null &
fi
echo "DLREMOTE_PID $!"
echo "DLREMOTE_LOG $LOG"
"""


def poll(venv, remote_dir, remote_port: int, pid: int) -> str:
    """``jupyter server list --json`` plus whether our process still lives."""
    return locate(venv, remote_dir) + f"""\
"$JUPYTER" server list --json 2>/dev/null
if ours {int(pid)} {int(remote_port)}; then echo DLREMOTE_ALIVE; else
  echo DLREMOTE_DEAD
  tail -n 3 "$STATE/jupyter-{int(remote_port)}.log" 2>/dev/null | sed 's/^/DLREMOTE_LOGLINE /'
fi
"""


def stop(venv, remote_dir, remote_port: int, pid: int | None, graceful: bool = True) -> str:
    """``jupyter server stop PORT`` (shuts kernels down), then make sure the process group
    is gone (TERM, then KILL). ``graceful=False`` skips the polite request."""
    port = int(remote_port)
    text = locate(venv, remote_dir)
    if graceful or not pid:
        text += f"""\
if [ -x "$JUPYTER" ]; then
  if command -v timeout >/dev/null 2>&1; then WITH_TIMEOUT="timeout 30"; else WITH_TIMEOUT=; fi
  $WITH_TIMEOUT "$JUPYTER" server stop {port} >/dev/null 2>&1 || true
fi
"""
    if not pid:
        return text + "echo DLREMOTE_STOPPED\n"
    return text + f"""\
SERVER_PID={int(pid)}
WAITS=0
while ours $SERVER_PID {port} && [ $WAITS -lt {40 if graceful else 0} ]; do
  sleep 0.25; WAITS=$((WAITS+1))
done
if ours $SERVER_PID {port}; then
  pkill -TERM -P $SERVER_PID 2>/dev/null
  kill -TERM -- -$SERVER_PID 2>/dev/null; kill -TERM $SERVER_PID 2>/dev/null
  WAITS=0
  while ours $SERVER_PID {port} && [ $WAITS -lt 12 ]; do sleep 0.25; WAITS=$((WAITS+1)); done
  if ours $SERVER_PID {port}; then
    kill -KILL -- -$SERVER_PID 2>/dev/null; kill -KILL $SERVER_PID 2>/dev/null; sleep 0.5
  fi
fi
if ours $SERVER_PID {port}; then echo DLREMOTE_STILL_RUNNING; else echo DLREMOTE_STOPPED; fi
"""


GPU_PROBE = """\
import tensorflow as tf
gpus = tf.config.list_physical_devices("GPU")
print("DLREMOTE_TF", tf.__version__, len(gpus), flush=True)
for gpu in gpus:
    name = tf.config.experimental.get_device_details(gpu).get("device_name", "?")
    print("DLREMOTE_TFGPU", gpu.name, name, flush=True)
"""

SMI_QUERY = ("--query-gpu=index,name,utilization.gpu,memory.used,memory.total "
             "--format=csv,noheader")
SMI_APPS = "--query-compute-apps=pid,process_name,used_memory --format=csv,noheader"


def gpu(venv, remote_dir, with_tensorflow: bool = True, brief: bool = False) -> str:
    """nvidia-smi (full table, or one line per GPU and process) and TensorFlow's GPU list."""
    nvidia_smi = (f"nvidia-smi {SMI_QUERY} | sed 's/^/DLREMOTE_GPU /'; "
                  f"nvidia-smi {SMI_APPS} | sed 's/^/DLREMOTE_APP /'") if brief else "nvidia-smi"
    text = locate(venv, remote_dir) + f"""\
if command -v nvidia-smi >/dev/null 2>&1; then
  {nvidia_smi}
  echo "DLREMOTE_SMI_STATUS $?"
else
  echo DLREMOTE_NOSMI
fi
"""
    if with_tensorflow:
        text += f"""\
if [ -x "$VENV/bin/python" ]; then
  TF_CPP_MIN_LOG_LEVEL=2 "$VENV/bin/python" -c {shlex.quote(GPU_PROBE)} 2>&1 |
    sed -e '/^DLREMOTE_/!s/^/DLREMOTE_TFOUT /'
else
  echo "DLREMOTE_NOPYTHON $VENV"
fi
"""
    return text


def record_env(venv_expr: str, dir_expr: str) -> str:
    """Remember the environment for later commands (~/.dlcourse-remote/{venv,course_dir})."""
    return f"""\
mkdir -p "$STATE"
printf '%s\\n' {venv_expr} > "$STATE/venv"
printf '%s\\n' {dir_expr} > "$STATE/course_dir"
"""


def reuse_venv(venv: str, remote_dir: str | None) -> str:
    """Setup-lite: check an existing environment and record it; installs nothing."""
    return locate(venv, remote_dir) + f"""\
if [ ! -x "$VENV/bin/python" ]; then echo "DLREMOTE_NOENV $VENV"; exit {NO_ENV}; fi
""" + need_jupyter() + record_env('"$VENV"', '"$DIR"') + 'echo "DLREMOTE_SETUP_OK $VENV"\n'


def install(remote_dir, venv, python: str | None, version_check: str,
            requirements: str) -> str:
    """Create the venv and pip-install the pinned requirements plus the course package.

    Each interpreter tried and refused prints ``DLREMOTE_NOPYTHON NAME<tab>why``.
    """
    candidates = shlex.quote(python) if python else "python3.13 python3.12 python3.11 python3"
    return locate(venv, remote_dir) + f"""\
umask 022
BASE_PYTHON=
for CANDIDATE in {candidates}; do
  if ! command -v "$CANDIDATE" >/dev/null 2>&1; then
    printf 'DLREMOTE_NOPYTHON %s\tis not found\n' "$CANDIDATE"
  elif "$CANDIDATE" -c {shlex.quote(version_check)}; then BASE_PYTHON=$CANDIDATE; break
  else
    CANDIDATE_VERSION=$("$CANDIDATE" --version 2>&1 | head -n 1)
    printf 'DLREMOTE_NOPYTHON %s\tis %s\n' "$CANDIDATE" \\
      "${{CANDIDATE_VERSION:-not a Python that runs -c}}"
  fi
done
[ -n "$BASE_PYTHON" ] || exit {NO_PYTHON}
if [ ! -r "$DIR/{requirements}" ]; then echo "DLREMOTE_NOCOURSE $DIR"; exit {NO_DIR}; fi
echo "Using $BASE_PYTHON ($("$BASE_PYTHON" --version 2>&1)) to create $VENV"
if [ ! -x "$VENV/bin/python" ]; then
  "$BASE_PYTHON" -m venv "$VENV" ||
    {{ echo "DLREMOTE_NOVENV $BASE_PYTHON"; exit {NO_VENV_MODULE}; }}
fi
"$VENV/bin/python" -m pip install --upgrade pip || exit {PIP_FAILED}
"$VENV/bin/python" -m pip install -r "$DIR/{requirements}" || exit {PIP_FAILED}
"$VENV/bin/python" -m pip install --no-deps -e "$DIR" || exit {PIP_FAILED}
""" + record_env('"$VENV"', '"$DIR"') + 'echo "DLREMOTE_SETUP_OK $VENV"\n'


def hostside(venv, remote_dir, args: str, need_env: bool = False) -> str:
    """Write ``hostside.py`` to ~/.dlcourse-remote on the host and run it there with ``args``
    (shell words; $STATE, $DIR and $VENV may be used) under the course's Python (python3
    without one; ``need_env``: exit NO_ENV instead). Prints DLREMOTE_DIR and DLREMOTE_VENV."""
    source = Path(__file__).with_name("hostside.py").read_text()
    return locate(venv, remote_dir) + f"""\
echo "DLREMOTE_DIR $DIR"
echo "DLREMOTE_VENV $VENV"
HOST_PYTHON="$VENV/bin/python"
if [ ! -x "$HOST_PYTHON" ]; then
  {f'echo "DLREMOTE_NOENV $VENV"; exit {NO_ENV}' if need_env else 'HOST_PYTHON=python3'}
fi
mkdir -p "$STATE"
cat > "$STATE/dlremote_host.py.$$" <<'DLREMOTE_EOF'
{source}DLREMOTE_EOF
mv "$STATE/dlremote_host.py.$$" "$STATE/dlremote_host.py"
"$HOST_PYTHON" "$STATE/dlremote_host.py" {args}
"""


def unpack(remote_dir: str, size: int) -> str:
    """Unpack a .tar.gz from stdin into ``remote_dir``, once it is known to fit (with 256 MiB
    to spare for the run's outputs): exit NO_SPACE with DLREMOTE_NOSPACE FREE_KIB if not."""
    folder = path_expr(remote_dir)
    need = size // 1024 + 256 * 1024
    return f"""\
mkdir -p {folder} || exit {NO_DIR}
FREE=$(df -Pk {folder} | awk 'NR==2 {{print $4}}')
if [ -n "$FREE" ] && [ "$FREE" -lt {need} ]; then
  echo "DLREMOTE_NOSPACE $FREE {need}"; exit {NO_SPACE}
fi
tar -xzf - -C {folder}
"""


def pack_results(remote_dir) -> str:
    """A .tar.gz of the run's results on stdout (build/results.json, executed, site);
    exit NOTHING_TO_FETCH (naming the folder on stderr) when there is none."""
    return locate(None, remote_dir) + f"""\
cd "$DIR" 2>/dev/null || {{ echo "$DIR" >&2; exit {NOTHING_TO_FETCH}; }}
set --
for RESULT in build/results.json build/executed build/site; do
  [ -e "$RESULT" ] && set -- "$@" "$RESULT"
done
[ $# -gt 0 ] || {{ echo "$DIR" >&2; exit {NOTHING_TO_FETCH}; }}
tar -czf - "$@"
"""


def markers(text: str) -> dict:
    """``DLREMOTE_KEY value`` lines -> {KEY: [values]}."""
    found: dict = {}
    for line in text.splitlines():
        if line.startswith("DLREMOTE_"):
            key, _, value = line[len("DLREMOTE_"):].partition(" ")
            found.setdefault(key, []).append(value)
    return found


def last_line(text: str) -> str:
    """The last line of ``text`` that is not a marker."""
    lines = [line for line in text.splitlines()
             if line.strip() and not line.startswith("DLREMOTE_")]
    return lines[-1].strip() if lines else "(no output)"
