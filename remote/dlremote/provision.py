"""`setup`: copy the course to the host, build (or reuse) its venv, check the GPU."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from dlremote import RemoteError, envspec, scripts, sshcmd, suggest
from dlremote.gpucheck import gpu_report


def setup(host: str, settings: dict, *, install: bool = True, copy: bool = True,
          gpu_check: bool = True, project: str | None = None, out=print) -> int:
    """Copy the course to the host, create (or reuse) its venv, run the GPU check."""
    target = sshcmd.connect(host, settings)
    remote_dir = settings["remote_dir"] or "~/dlcourse"
    venv = settings["venv"] or f"{remote_dir.rstrip('/')}/.venv"
    if not install and not settings["venv"]:
        raise RemoteError("--no-install needs --venv PATH: the existing environment to use")
    system = sshcmd.run_script(target, "uname -s", timeout=60, what="uname").stdout.strip()
    out(f"[1/4] connected to {target.label} ({system or 'unknown system'})")
    root = Path(project) if project else envspec.project_root()
    dependencies, requires = envspec.read_spec(root / "pyproject.toml")
    lines = envspec.requirements(dependencies, linux=system == "Linux")
    if copy:
        archive = envspec.course_archive(root, lines)
        out(f"[2/4] copying the course ({len(archive) // 1024} KiB) to {remote_dir}")
        upload(target, remote_dir, archive)
    else:
        out("[2/4] not copying the course files (--no-copy)")
    if install:
        pin = next((line for line in lines if line.lower().startswith("tensorflow")),
                   "tensorflow")
        out(f"[3/4] creating {venv} with {pin} and {len(lines) - 1} more pins "
            "(several GB with CUDA: allow 5-15 minutes)")
        script = scripts.install(remote_dir, venv, settings["remote_python"],
                                 envspec.version_check(requires), envspec.REQUIREMENTS)
        status, found = sshcmd.stream_script(target, script)
    else:
        out(f"[3/4] reusing the environment at {venv} (--no-install)")
        proc = sshcmd.run_script(target, scripts.reuse_venv(venv, remote_dir), timeout=60)
        status, found = proc.returncode, proc.stdout.splitlines()
    _setup_problem(status, scripts.markers("\n".join(found)), target, requires, venv,
                   settings["remote_python"])
    if gpu_check:
        out("[4/4] GPU check")
        problem = gpu_report(target, venv, remote_dir, out=out)
        if problem:
            out(f"WARNING: {problem}")
    else:
        out("[4/4] GPU check skipped (--no-gpu-check)")
    out(f"ready: start JupyterLab with  {suggest('start', host)}")
    return 0


def upload(target, remote_dir: str, archive: bytes) -> None:
    """Unpack ``archive`` (.tar.gz bytes) into ``remote_dir`` on the host; a full disk is
    found before anything is written (and named if it fills up while unpacking)."""
    script = scripts.unpack(remote_dir, len(archive))
    args = sshcmd.command(target, ["sh", "-c", shlex.quote(script)])
    proc = subprocess.run(args, input=archive, capture_output=True, timeout=600)
    stdout, stderr = (proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))
    if proc.returncode == 0:
        return
    if proc.returncode == 255:
        raise RemoteError(sshcmd.explain_failure(stderr, target))
    found = scripts.markers(stdout)
    if "NOSPACE" in found or "No space left on device" in stderr:
        free, need = found["NOSPACE"][0].split() if "NOSPACE" in found else ("?", "?")
        detail = (f"{free} KiB free where {remote_dir} is, {need} KiB needed"
                  if "NOSPACE" in found else f"it filled up while copying to {remote_dir}")
        raise RemoteError(f"the disk of {target.label} is full ({detail}); free some space "
                          "there (df -h; a fetched run's build/ folder can go), then try again")
    raise RemoteError(f"copying the course to {remote_dir} on {target.label} failed: "
                      f"{scripts.last_line(stderr + stdout)}")


def _setup_problem(status: int, found: dict, target, requires: str, venv: str,
                   remote_python: str | None = None) -> None:
    where = target.label
    if status == 0 and "SETUP_OK" in found:
        return
    if status == scripts.NO_PYTHON:
        tried = ", ".join(" ".join(line.split("\t", 1)) for line in found.get("NOPYTHON", []))
        given = "the --remote-python " if remote_python else ""
        raise RemoteError(
            f"no suitable Python ({requires}) on {where}: {given}{tried or '(none tried)'}; "
            "install one (Ubuntu 24.04: sudo apt install python3.12-venv; 22.04: sudo apt "
            "install python3.11 python3.11-venv; or `uv python install 3.12`) and pass its "
            "path with --remote-python")
    if status == scripts.NO_ENV:
        raise RemoteError(f"no environment at {found.get('NOENV', [venv])[0]} on {where}: leave "
                          "out --no-install to create it "
                          f"(`{suggest('setup', target.destination)}`), or pass the --venv that "
                          "exists")
    if status == scripts.NO_JUPYTER:
        raise RemoteError(f"the environment {venv} on {where} has no jupyter: "
                          "install jupyterlab into it, or run setup without --no-install")
    if status == scripts.NO_VENV_MODULE:
        raise RemoteError(f"python -m venv failed on {where}: install the venv module "
                          "(Ubuntu: sudo apt install python3.X-venv for its Python 3.X)")
    if status == scripts.NO_DIR:
        raise RemoteError(f"the course is not in {found.get('NOCOURSE', ['?'])[0]} on {where}: "
                          "run setup without --no-copy")
    if status == scripts.PIP_FAILED:
        raise RemoteError(f"pip install failed on {where} (see its output above)")
    raise RemoteError(f"setup on {where} failed with status {status}")
