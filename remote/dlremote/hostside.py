"""The part of `run`, `logs`, `fetch` and `--stop-after-idle` that runs on the host.

The laptop writes this file to ``~/.dlcourse-remote/dlremote_host.py`` on the host
(standard library only, Python 3.8+) and runs it there with the course's Python:

- ``start JOBS DIR VENV COMMAND``: one job at a time, detached (its own session: it
  survives the ssh connection, the laptop sleeping, the network dropping) in a job
  folder ``JOBS/ID/`` holding ``command``, ``pid``, ``log`` (each line prefixed with
  the time since the start, ``[h:mm:ss]``) and ``exit`` (the exit status, written when
  the command ends);
- ``follow JOBS WAIT [ID]``: the log of the job (default: the latest), with WAIT=1
  until ``exit`` appears;
- ``status JOBS`` and ``stop JOBS``: the latest job, and ending it (TERM, then KILL);
- ``arm STATE MINUTES``: the idle watcher (``watch``), which shuts the host down
  when no job runs, no kernel is busy and no browser is connected for MINUTES.

Lines for the laptop start with ``DLREMOTE_`` (see ``scripts.markers``). The laptop
also imports :class:`Progress` from here to show a job's progress, and :func:`alive`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

BUSY = 9  # exit status of `start` when a job already runs
NO_SHUTDOWN = 11  # exit status of `arm` when the host cannot shut itself down
STOP_GRACE_S = 20  # seconds a stopped job gets to end before it is killed

STAMP = re.compile(r"^(\[\d+:\d\d:\d\d\]) ?(.*)$")
NOTEBOOK = re.compile(r"^=== (\d\d_\w+)")
CELL = re.compile(r"^(Executing|Ending) Cell (\d+)-*$")


def stamp(seconds: float) -> str:
    """``[h:mm:ss]``: the time since the job started, at the front of each log line."""
    whole = int(seconds)
    return f"[{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}]"


class Progress:
    """Reads a job's log lines; knows the notebook and cell being run.

    ``feed(line)`` returns what to show for the line: a progress line
    ``[0:01:23] 01_conv_numpy: cell 5/42`` when a cell starts, None for a line printed
    by a notebook cell or papermill's own chatter (unless ``show_all``), else the line.
    ``cells``: notebook name -> number of cells, for the ``/42``.
    """

    CHATTER = ("Input Notebook:", "Output Notebook:", "Executing notebook with kernel",
               "Black is not installed", "Working directory:", "[IPKernelApp]", "[NbConvertApp]")

    def __init__(self, cells: dict | None = None, show_all: bool = False):
        self.cells = cells or {}
        self.show_all = show_all
        self.notebook = ""
        self.cell = 0
        self.elapsed = ""
        self.in_cell = False

    def feed(self, line: str) -> str | None:
        found = STAMP.match(line)
        if found:
            self.elapsed, text = found.groups()
        else:
            text = line
        notebook = NOTEBOOK.match(text)
        if notebook:
            self.notebook, self.cell, self.in_cell = notebook.group(1), 0, False
        cell = CELL.match(text.strip())
        if cell:
            self.in_cell = cell.group(1) == "Executing"
            if self.in_cell:
                self.cell = int(cell.group(2))
                return self.line()
        elif not (self.in_cell or text.startswith(self.CHATTER)):
            return line
        return line if self.show_all else None

    def line(self) -> str:
        total = self.cells.get(self.notebook)
        where = f"{self.notebook}: cell {self.cell}" + (f"/{total}" if total else "")
        return f"{self.elapsed} {where}" if self.notebook else f"{self.elapsed} cell {self.cell}"


# ------------------------------------------------------------------------------- files
def read(path: str, default: str = "") -> str:
    try:
        with open(path) as file:
            return file.read().strip()
    except OSError:
        return default


def write(path: str, text: str) -> None:
    """Write atomically (a reader sees the whole text or nothing)."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as file:
        file.write(text + "\n")
    os.replace(temporary, path)


def alive(pid: int, others_count: bool = False) -> bool:
    """True while ``pid`` runs (a zombie counts as gone). A process of another user counts as
    running with ``others_count`` (the laptop's check of its tunnel), else as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return others_count
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def ours(pid: int, *words: str) -> bool:
    """True while ``pid`` is alive and its command line holds each of ``words`` (this
    script's runner or watcher with its folder: a pid reused by another process is not)."""
    if not alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            args = file.read().decode(errors="replace").split("\0")
    except OSError:
        return True  # no /proc (macOS host): trust the pid
    return all(word in args for word in words)


def job_state(jobdir: str) -> tuple:
    """('running', None), ('ended', exit status) or ('lost', None): ended without a status
    (the host rebooted, or the runner was killed)."""
    code = read(os.path.join(jobdir, "exit"))
    if code:
        return "ended", int(code)
    pid = read(os.path.join(jobdir, "pid"))
    if pid and ours(int(pid), "runner", os.path.abspath(jobdir)):
        return "running", None
    return "lost", None


def latest(jobs: str) -> str | None:
    name = read(os.path.join(jobs, "current"))
    return os.path.join(jobs, name) if name and os.path.isdir(os.path.join(jobs, name)) else None


# ------------------------------------------------------------------------------- jobs
def start(jobs: str, course_dir: str, venv: str, command: str) -> int:
    os.makedirs(jobs, mode=0o700, exist_ok=True)
    lock = os.path.join(jobs, ".lock")  # two runs at once: one starts, the other is refused
    deadline = time.time() + 10
    while True:
        try:
            os.mkdir(lock)
            break
        except FileExistsError:
            if time.time() - os.stat(lock).st_mtime > 60:  # left by a crash
                os.rmdir(lock)
            elif time.time() > deadline:
                print("DLREMOTE_BUSY starting ? (another run is starting one now)")
                return BUSY
            time.sleep(0.2)
    try:
        current = latest(jobs)
        if current and job_state(current)[0] == "running":
            print("DLREMOTE_BUSY", os.path.basename(current), read(os.path.join(current, "pid")),
                  read(os.path.join(current, "command")))
            return BUSY
        name = time.strftime("%Y%m%d-%H%M%S")
        jobdir = os.path.join(jobs, name)
        suffix = 1
        while os.path.exists(jobdir):
            suffix += 1
            jobdir = os.path.join(jobs, f"{name}-{suffix}")
        os.mkdir(jobdir)
        write(os.path.join(jobdir, "command"), command)
        write(os.path.join(jobdir, "dir"), course_dir)
        runner = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "runner", os.path.abspath(jobdir),
             course_dir, venv],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)
        write(os.path.join(jobdir, "pid"), str(runner.pid))
        write(os.path.join(jobs, "current"), os.path.basename(jobdir))
    finally:
        os.rmdir(lock)
    print("DLREMOTE_JOB", os.path.basename(jobdir), runner.pid)
    return 0


def environment(jobdir: str, venv: str) -> dict:
    """The course's venv first on PATH; every `make` uses it as it is (its install stamp
    is replaced by a file of the job, so make never rebuilds the environment)."""
    env = dict(os.environ, VIRTUAL_ENV=venv, PYTHONUNBUFFERED="1")
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "/usr/bin:/bin")
    ready = os.path.join(jobdir, "environment-ready")
    write(ready, venv)
    env["MAKEFLAGS"] = " ".join(f"{name}={value.replace(' ', chr(92) + ' ')}"
                                for name, value in (("VENV", venv), ("STAMP", ready)))
    return env


def runner(jobdir: str, course_dir: str, venv: str) -> int:
    """Run the job's command; log its output with times; write its exit status."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    start_time = time.time()
    proc = subprocess.Popen(["sh", "-c", read(os.path.join(jobdir, "command"))], cwd=course_dir,
                            env=environment(jobdir, venv), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    stopping = []

    def signal_group(signal_number: int) -> None:
        try:
            os.killpg(proc.pid, signal_number)
        except ProcessLookupError:  # already gone
            pass

    def stop(signum, frame):  # `dlcourse-remote stop`: TERM, then KILL after the grace time
        stopping.append(signum)
        signal.signal(signal.SIGALRM, lambda *_: signal_group(signal.SIGKILL))
        signal.alarm(STOP_GRACE_S)
        signal_group(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    log = open(os.path.join(jobdir, "log"), "a")
    for raw in proc.stdout:
        text = raw.decode(errors="replace").rstrip("\r\n").split("\r")[-1]
        try:  # a full disk must not stop the command: its lines are then lost, not it
            log.write(f"{stamp(time.time() - start_time)} {text}\n")
            log.flush()
        except OSError:
            pass
    code = proc.wait()
    code = 128 - code if code < 0 else code
    try:
        if stopping:
            log.write(f"{stamp(time.time() - start_time)} stopped by dlcourse-remote stop\n")
        log.write(f"{stamp(time.time() - start_time)} exit status {code}\n")
        log.close()
    except OSError:
        pass
    write(os.path.join(jobdir, "exit"), str(code))
    return 0


def follow(jobs: str, wait: bool, name: str = "") -> int:
    """Print the log of job ``name`` (default: the latest); with ``wait``, until it ends."""
    jobdir = os.path.join(jobs, name) if name else latest(jobs)
    if jobdir is None or not os.path.isdir(jobdir):
        print("DLREMOTE_NOJOB")
        return 0
    print("DLREMOTE_FOLLOWING", os.path.basename(jobdir), read(os.path.join(jobdir, "command")),
          flush=True)
    path = os.path.join(jobdir, "log")
    partial, position = b"", 0
    while True:
        state, code = job_state(jobdir)  # before reading: no line written after is missed
        try:
            with open(path, "rb") as log_file:
                log_file.seek(position)
                chunk = log_file.read()
                position = log_file.tell()
        except FileNotFoundError:
            chunk = b""
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        for line in lines:
            print(line.decode(errors="replace"), flush=True)
        if state != "running" or not wait:
            print("DLREMOTE_END", state, "" if code is None else code, flush=True)
            return 0
        time.sleep(0.5)


def status(jobs: str) -> int:
    current = latest(jobs)
    if current is None:
        print("DLREMOTE_NOJOB")
        return 0
    state, code = job_state(current)
    progress = Progress()
    for line in read(os.path.join(current, "log")).splitlines():
        progress.feed(line)
    started = os.stat(os.path.join(current, "command")).st_mtime
    print("DLREMOTE_JOB", os.path.basename(current), read(os.path.join(current, "pid")),
          int(time.time() - started))
    print("DLREMOTE_COMMAND", read(os.path.join(current, "command")))
    print("DLREMOTE_STATE", state, "" if code is None else code)
    if progress.notebook:
        print("DLREMOTE_PROGRESS", progress.line())
    return 0


def stop(jobs: str) -> int:
    current = latest(jobs)
    if current is None or job_state(current)[0] != "running":
        print("DLREMOTE_NOJOB")
        return 0
    os.kill(int(read(os.path.join(current, "pid"))), signal.SIGTERM)
    deadline = time.time() + STOP_GRACE_S + 10
    while job_state(current)[0] == "running" and time.time() < deadline:
        time.sleep(0.2)
    state, code = job_state(current)
    print("DLREMOTE_STOPPED" if state != "running" else "DLREMOTE_STILL_RUNNING",
          os.path.basename(current), read(os.path.join(current, "command")))
    return 0


# ------------------------------------------------------------------------------- idle watcher
def shutdown_command() -> tuple:
    """(argv that shuts the host down, None) or (None, why it cannot)."""
    found = shutil.which("shutdown", path=os.environ.get("PATH", "") + ":/sbin:/usr/sbin")
    if found is None:
        return None, "no shutdown command on the host"
    if os.geteuid() == 0:
        return [found, "-h", "now"], None
    if shutil.which("sudo") is None:
        return None, "no sudo on the host, and you are not root"
    asks = subprocess.run(["sudo", "-n", "-l", found], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if asks.returncode != 0:
        return None, f"sudo asks for a password to run {found}"
    return ["sudo", "-n", found, "-h", "now"], None


def jupyter_servers() -> list:
    """The running Jupyter servers of this user: their runtime files (url, token, pid),
    read directly (``jupyter server list`` takes seconds to start on a busy host)."""
    runtime = os.environ.get("JUPYTER_RUNTIME_DIR") or os.path.join(
        os.environ.get("JUPYTER_DATA_DIR") or (
            os.path.expanduser("~/Library/Jupyter") if sys.platform == "darwin" else
            os.path.join(os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"),
                         "jupyter")), "runtime")
    servers = []
    for name in sorted(os.listdir(runtime)) if os.path.isdir(runtime) else []:
        if name.startswith("jpserver-") and name.endswith(".json"):
            try:
                with open(os.path.join(runtime, name)) as file:
                    server = json.load(file)
            except (OSError, ValueError):
                continue
            if isinstance(server, dict) and alive(int(server.get("pid", 0))):
                servers.append(server)
    return servers


def busy_jupyter() -> str | None:
    """Why JupyterLab on this host is not idle (a kernel busy, a browser connected), or None."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for server in jupyter_servers():
        try:
            base = server["url"].rstrip("/")
            headers = {"Authorization": f"token {server.get('token', '')}"}
            with opener.open(urllib.request.Request(base + "/api/status", headers=headers),
                             timeout=10) as answer:
                if json.loads(answer.read()).get("connections", 0):
                    return f"a browser is connected to JupyterLab at {base}"
            with opener.open(urllib.request.Request(base + "/api/kernels", headers=headers),
                             timeout=10) as answer:
                kernels = json.loads(answer.read())
                if any(kernel.get("execution_state") == "busy" for kernel in kernels):
                    return f"a kernel is busy in JupyterLab at {base}"
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return "JupyterLab does not answer (counted as busy)"  # never shut down blindly
    return None


def watch(state_dir: str, minutes: float) -> int:
    """Shut the host down once it has been idle for ``minutes``; log why to idle.log."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    limit = minutes * 60
    poll = min(30.0, max(0.5, limit / 5))
    jobs = os.path.join(state_dir, "jobs")
    log_path = os.path.join(state_dir, "idle.log")
    idle_since = time.time()
    while True:
        current = latest(jobs)
        why = "a job runs" if current and job_state(current)[0] == "running" else \
            busy_jupyter()
        now = time.time()
        if why:
            idle_since = now
        elif now - idle_since >= limit:
            argv, problem = shutdown_command()
            with open(log_path, "a") as log:
                if argv is None:
                    log.write(f"{time.ctime()} idle for {minutes:g} min but cannot shut down: "
                              f"{problem}\n")
                    return 1
                log.write(f"{time.ctime()} idle for {minutes:g} min: {' '.join(argv)}\n")
            done = subprocess.run(argv, capture_output=True, text=True)
            with open(log_path, "a") as log:
                log.write(f"{time.ctime()} shutdown exited with {done.returncode} "
                          f"{(done.stderr or '').strip()}\n")
            return done.returncode
        time.sleep(poll)


def arm(state_dir: str, minutes: float) -> int:
    """(Re)start the idle watcher; MINUTES 0 only stops the one running."""
    pidfile = os.path.join(state_dir, "idle.pid")
    old = read(pidfile)
    if old and ours(int(old), "watch", os.path.abspath(state_dir)):
        os.kill(int(old), signal.SIGTERM)
    if minutes == 0:
        print("DLREMOTE_IDLE_OFF")
        return 0
    argv, problem = shutdown_command()
    if argv is None:
        print("DLREMOTE_NOSHUTDOWN", problem)
        return NO_SHUTDOWN
    watcher = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "watch", os.path.abspath(state_dir),
         str(minutes)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True)
    write(pidfile, str(watcher.pid))
    print("DLREMOTE_IDLE_ARMED", watcher.pid, " ".join(argv))
    return 0


COMMANDS = {
    "start": lambda args: start(args[0], args[1], args[2], args[3]),
    "runner": lambda args: runner(args[0], args[1], args[2]),
    "follow": lambda args: follow(args[0], args[1] == "1", *args[2:]),
    "status": lambda args: status(args[0]),
    "stop": lambda args: stop(args[0]),
    "arm": lambda args: arm(args[0], float(args[1])),
    "watch": lambda args: watch(args[0], float(args[1])),
}

if __name__ == "__main__":
    sys.exit(COMMANDS[sys.argv[1]](sys.argv[2:]))
