"""`run`, `logs`, `fetch`, `--stop-after-idle`: the course run on the host as a detached job.

The job itself is kept on the host by ``hostside`` (one folder per job under
``~/.dlcourse-remote/jobs``); nothing about it is stored on the laptop, so any laptop
with the key can follow, stop or fetch it.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path, PurePosixPath

from dlremote import RemoteError, envspec, provision, scripts, sshcmd, suggest
from dlremote.hostside import BUSY, NO_SHUTDOWN, Progress

JOBS = '"$STATE/jobs"'
DEFAULT_COMMAND = ("make", "course")
RESULTS = ("build/results.json", "build/executed", "build/site")


class ConnectionLost(RemoteError):
    """Following a job stopped (the connection dropped, or Ctrl-C): it goes on on the host."""


class JobFailed(RemoteError):
    """The job ended with a non-zero exit status (``status``), which becomes the tool's."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def call(target, args: str, *, venv=None, remote_dir=None, need_env=False, control=None,
         what="the job command") -> dict:
    """Run ``hostside.py args`` on the host; its markers (``scripts.markers``)."""
    proc = sshcmd.run_script(target, scripts.hostside(venv, remote_dir, args, need_env),
                             control=control, timeout=120, what=what)
    found = scripts.markers(proc.stdout)
    if proc.returncode == scripts.NO_ENV:
        raise RemoteError(f"no course environment on {target.label}: {found['NOENV'][0]} does "
                          f"not exist; run `{suggest('setup', target.destination)}` first, or pass "
                          "--venv PATH")
    if proc.returncode == BUSY:
        raise busy(target, *(found["BUSY"][0].split(None, 2) + ["", ""])[:3])
    if proc.returncode not in (0, NO_SHUTDOWN):
        raise RemoteError(f"{what} failed on {target.label}: "
                          f"{scripts.last_line(proc.stderr + proc.stdout)}")
    return found


def busy(target, job: str, pid: str, command: str) -> RemoteError:
    host = target.destination
    return RemoteError(f"a job is already running on {target.label}: `{command}` (job {job}, "
                       f"pid {pid}); follow it with `{suggest('logs', host, '--follow')}` "
                       f"or end it with `{suggest('stop', host)}`")


class Console:
    """Where a job's lines go: on a terminal each progress line replaces the one before
    (one line per cell elsewhere, e.g. a CI log or a file)."""

    def __init__(self, out=print, terminal: bool = False):
        self.out, self.terminal, self.pending = out, terminal, False

    def progress(self, text: str) -> None:
        if not self.terminal:
            self.out(text)
            return
        sys.stdout.write("\r\033[K" + text)
        sys.stdout.flush()
        self.pending = True

    def line(self, text: str) -> None:
        self.close()
        self.out(text)

    def close(self) -> None:
        """End a progress line left open on the terminal."""
        if self.pending:
            sys.stdout.write("\n")
            self.pending = False


def notebook_cells(root: Path | None = None) -> dict:
    """Lesson name -> number of cells, from the local course (for ``cell 5/42``)."""
    cells = {}
    try:
        course = (root or envspec.project_root()) / "course"
        for path in course.glob("[0-9][0-9]_*.ipynb"):
            cells[path.stem] = len(json.loads(path.read_text()).get("cells", []))
    except (RemoteError, OSError, ValueError):
        pass  # only the "/42" is lost
    return cells


def run(host: str, settings: dict, command: list, *, fetch_after: bool = False,
        into: str | None = None, idle_minutes: float | None = None, show_all: bool = False,
        project: str | None = None, out=print) -> int:
    """Sync the course, start ``command`` detached on the host, follow it to its end."""
    target = sshcmd.connect(host, settings)
    text = " ".join(command or DEFAULT_COMMAND)  # joined like ssh joins a remote command
    where = {"venv": settings["venv"], "remote_dir": settings["remote_dir"]}
    found = call(target, f"status {JOBS}", need_env=True, what="checking for a running job",
                 **where)
    if found.get("STATE", [""])[0].startswith("running"):
        raise busy(target, *found["JOB"][0].split()[:2], found["COMMAND"][0])
    remote_dir = found["DIR"][0]
    root = Path(project) if project else envspec.project_root()
    dependencies, _ = envspec.read_spec(root / "pyproject.toml")
    pins = envspec.requirements(dependencies, linux=True)  # GPU hosts
    archive = envspec.course_archive(root, pins)
    out(f"syncing the course ({len(archive) // 1024} KiB) to {remote_dir} on {target.label}")
    provision.upload(target, remote_dir, archive)
    started = call(target, f"start {JOBS} \"$DIR\" \"$VENV\" {shlex.quote(text)}",
                   what="starting the job", **where)
    name = started["JOB"][0].split()[0]
    out(f"started `{text}` on {target.label} as job {name}, detached: it goes on if this "
        f"connection drops (`{suggest('logs', host, '--follow')}` reattaches)")
    if idle_minutes is not None:
        arm_idle(target, idle_minutes, out=out, **where)
    code, _ = follow(target, host, name, show_all=show_all, cells=notebook_cells(root), out=out)
    if fetch_after:
        fetch(host, settings, into=into, target=target, remote_dir=remote_dir, out=out)
    return finish(target, host, text, code)


def finish(target, host: str, command: str, code: int) -> int:
    if code != 0:
        raise JobFailed(f"`{command}` on {target.label} ended with exit status {code}; the "
                        f"whole log: `{suggest('logs', host, '--all')}`; what it made: "
                        f"`{suggest('fetch', host)}`", code)
    return 0


def follow(target, host: str, job: str = "", *, wait: bool = True, show_all: bool = False,
           cells: dict | None = None, out=print) -> tuple:
    """Show the job's log (progress lines, or ``show_all``), until it ends with ``wait``.

    Returns (its exit status, 0 while it still runs without ``wait``; its command);
    ConnectionLost when the connection drops first (the job goes on).
    """
    args = sshcmd.command(target, ["sh", "-s"])
    script = scripts.hostside(None, None, f"follow {JOBS} {int(wait)} {shlex.quote(job)}")
    progress = Progress(cells, show_all)
    console = Console(out, terminal=out is print and sys.stdout.isatty())
    end, command, full_disk, last = None, "", False, ""
    with subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace") as proc:
        for send in (lambda: proc.stdin.write(script), proc.stdin.close):
            try:
                send()
            except BrokenPipeError:  # ssh exited at once (host unreachable): said below
                pass  # (close still closes the pipe when its flush fails)
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                if line.startswith("DLREMOTE_"):
                    key, _, value = line[len("DLREMOTE_"):].partition(" ")
                    if key == "FOLLOWING":
                        command = value.partition(" ")[2]
                    elif key == "END":
                        end = value.split()
                    elif key == "NOJOB":
                        end = ["none"]
                    continue
                full_disk |= "No space left on device" in line
                shown = progress.feed(line)
                if shown is not None:
                    (console.line if shown == line else console.progress)(shown)
                    last = shown
        except KeyboardInterrupt:
            proc.kill()
            console.close()
            raise ConnectionLost(f"stopped following (Ctrl-C); the job goes on on {target.label}:"
                                 f" `{suggest('logs', host, '--follow')}` reattaches") from None
        stderr = proc.stderr.read()
    console.close()
    if end is None:
        why = (sshcmd.explain_failure(stderr, target) if proc.returncode == 255 else
               f"ssh was ended by signal {-proc.returncode}" if proc.returncode < 0 else
               f"ssh ended with status {proc.returncode}")
        lost = "lost the connection to" if command else "could not reach"
        raise ConnectionLost(f"{lost} {target.label} ({why}); the job goes on there: "
                             f"`{suggest('logs', host, '--follow')}` reattaches")
    if end == ["none"]:
        raise RemoteError(f"no job on {target.label}: start one with "
                          f"`{suggest('run', host)}`")
    if end[0] == "lost":
        raise RemoteError(f"the job on {target.label} ended without an exit status (the host "
                          f"rebooted, or its runner was killed); its log: "
                          f"`{suggest('logs', host, '--all')}`")
    if end[0] == "running":
        out(f"{progress.elapsed} still running: `{suggest('logs', host, '--follow')}` follows "
            "it to its end".strip())
        return 0, command
    code = int(end[1])
    if code != 0 and full_disk:
        out(f"the disk of {target.label} filled up during the job (No space left on device): "
            "free some space there (df -h), then run again")
    if not last.endswith(f"exit status {code}"):  # the runner's own last line says it
        out(f"{progress.elapsed} job ended with exit status {code}".strip())
    return code, command


def logs(host: str, settings: dict, *, wait: bool = False, show_all: bool = False,
         out=print) -> int:
    target = sshcmd.connect(host, settings)
    code, command = follow(target, host, wait=wait, show_all=show_all, cells=notebook_cells(),
                           out=out)
    return finish(target, host, command, code)


def arm_idle(target, minutes: float, *, venv=None, remote_dir=None, control=None,
             out=print) -> None:
    """Start (or with 0 stop) the host's idle watcher; a host that cannot shut itself
    down is said so in one line, and nothing else changes."""
    found = call(target, f"arm \"$STATE\" {minutes!r}", venv=venv,
                 remote_dir=remote_dir, control=control, what="the idle watcher")
    if "NOSHUTDOWN" in found:
        out(f"WARNING: --stop-after-idle is OFF: {target.label} cannot shut itself down "
            f"({found['NOSHUTDOWN'][0]}); allow it (a sudoers line `USER ALL=(root) NOPASSWD: "
            "/sbin/shutdown`) or stop the machine in your cloud console when done")
    elif "IDLE_OFF" in found:
        out(f"idle shutdown of {target.label} is off")
    else:
        out(f"{target.label} shuts itself down ({found['IDLE_ARMED'][0].split(None, 1)[1]}) "
            f"after {minutes:g} min with no job, no busy kernel and no browser connected")


def job_lines(target, control=None) -> tuple:
    """(lines describing the host's latest job, whether it runs) for `status`."""
    found = call(target, f"status {JOBS}", control=control, what="job status")
    if "NOJOB" in found:
        return ["  job:     none"], False
    job, _, seconds = found["JOB"][0].split()
    state = found["STATE"][0].split()
    said = {"running": f"running for {int(seconds) // 60} min",
            "ended": f"ended with exit status {state[-1]}",
            "lost": "ended without an exit status (host rebooted?)"}[state[0]]
    lines = [f"  job:     {job} `{found['COMMAND'][0]}` {said}"]
    if "PROGRESS" in found:
        lines.append(f"  at:      {found['PROGRESS'][0]}")
    return lines, state[0] == "running"


def stop_job(target, control=None) -> str | None:
    """End the host's running job (TERM, then KILL); one line saying so, None if none ran."""
    found = call(target, f"stop {JOBS}", control=control, what="stopping the job")
    if "STILL_RUNNING" in found:
        raise RemoteError(f"the job on {target.label} is still running: "
                          f"{found['STILL_RUNNING'][0]}")
    if "STOPPED" in found:
        return f"job {found['STOPPED'][0]} on {target.label} stopped"
    return None


def fetch(host: str, settings: dict, *, into: str | None = None, target=None,
          remote_dir: str | None = None, out=print) -> Path:
    """Bring build/results.json, build/executed/ and build/site/ back into a new folder
    ``HOST-YYYY-MM-DD`` (``-2``, ``-3``... when taken) under ``into`` (default: here)."""
    target = target or sshcmd.connect(host, settings)
    args = sshcmd.command(target, ["sh", "-s"])
    script = scripts.pack_results(remote_dir or settings["remote_dir"])
    proc = subprocess.run(args, input=script.encode(), capture_output=True, timeout=1800)
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode == 255:
        raise RemoteError(sshcmd.explain_failure(stderr, target))
    if proc.returncode == scripts.NOTHING_TO_FETCH:
        raise RemoteError(f"nothing to fetch on {target.label}: no {', '.join(RESULTS)} in "
                          f"{scripts.last_line(stderr)}; run the course there first "
                          f"(`{suggest('run', host)}`)")
    if proc.returncode != 0:
        raise RemoteError(f"packing the results on {target.label} failed: "
                          f"{scripts.last_line(stderr)}")
    folder = new_folder(Path(into or "."), host)
    files = unpack(proc.stdout, folder)
    notebooks = len([name for name in files if name.startswith("build/executed/")])
    out(f"fetched {len(files)} files from {target.label} into {folder}: "
        f"{'results.json, ' if 'build/results.json' in files else ''}"
        f"{notebooks} executed notebook(s), "
        f"{'the site (build/site/index.html)' if 'build/site/index.html' in files else 'no site'}")
    return folder


def new_folder(parent: Path, host: str, today: datetime.date | None = None) -> Path:
    """A new folder ``HOST-YYYY-MM-DD`` in ``parent``; an existing one is never reused."""
    name = f"{re.sub(r'[^A-Za-z0-9._-]', '_', host)}-{today or datetime.date.today()}"
    parent.mkdir(parents=True, exist_ok=True)
    for number in range(1, 1000):
        candidate = parent / (name if number == 1 else f"{name}-{number}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RemoteError(f"too many fetches named {name} in {parent}: move some away")


def unpack(data: bytes, folder: Path) -> list:
    """Write the regular files of a .tar.gz under ``folder``; paths leaving it, links and
    devices are refused (the archive comes from another machine)."""
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            if member.name.startswith("/") or ".." in parts or not (member.isfile()
                                                                     or member.isdir()):
                raise RemoteError(f"refusing {member.name!r} in the results from the host "
                                  "(a link, a device or a path outside the folder)")
            path = folder.joinpath(*parts)
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(tar.extractfile(member).read())
            written.append(member.name)
    return written
