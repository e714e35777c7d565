"""A session: `start` (server + tunnel), `status`, `stop`, and reconnecting a dropped tunnel.

The local state file (see ``state``) links them: ``start`` writes it step by step, so
whatever was started can always be stopped, even after a crash half-way.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
import webbrowser

from dlremote import RemoteError, job, local, ports, scripts, sshcmd, state, suggest


def _hint_for_log(line: str, remote_port: int) -> str:
    if any(sign in line for sign in ("in use", "Errno 98", "available port", "not available")):
        return (f"; port {remote_port} is taken on the host (an old server? run "
                f"`{suggest('stop')}`, or pass --remote-port)")
    return ""


def _listed(text: str, remote_port: int) -> dict | None:
    """The entry of ``jupyter server list --json`` output serving ``remote_port``."""
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                server = json.loads(line)
            except ValueError:
                continue
            if server.get("port") == remote_port:
                return server
    return None


def _wait_ready(target, record, deadline_s: float) -> dict:
    """Poll ``jupyter server list --json`` until our port is listed (hard timeout)."""
    deadline = time.monotonic() + deadline_s
    script = scripts.poll(record["venv"], record["remote_dir"], record["remote_port"],
                          record["remote_pid"])
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            proc = sshcmd.run_script(target, script, control=record["control"],
                                     timeout=remaining + 1, what="jupyter server list")
        except RemoteError:
            if time.monotonic() >= deadline:
                break
            raise
        server = _listed(proc.stdout, record["remote_port"])
        if server:
            return server
        found = scripts.markers(proc.stdout)
        if "DEAD" in found:
            last = found.get("LOGLINE", ["(empty log)"])[-1].strip()
            raise RemoteError(f"JupyterLab on {target.label} exited while starting: {last}"
                              + _hint_for_log(last, record["remote_port"]))
        time.sleep(0.5)
    raise RemoteError(f"JupyterLab on {target.label} was not ready within {deadline_s:g} s "
                      f"(remote log: {record.get('remote_log', '?')}); it was stopped again")


def _wait_api(record, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        answer = local.api_get(record["local_port"], record["token"])
        if isinstance(answer, dict):
            return answer
        if time.monotonic() > deadline:
            raise RemoteError(f"JupyterLab runs on the host but /api/status does not answer "
                              f"through the tunnel at 127.0.0.1:{record['local_port']}")
        time.sleep(0.3)


def _healthy(record) -> bool:
    target = sshcmd.Target.from_dict(record["target"])
    return (sshcmd.master_pid(target, record.get("control")) is not None
            and local.api_get(record["local_port"], record["token"], timeout=3) is not None)


def start(host: str, settings: dict, *, open_browser: bool = True,
          idle_minutes: float | None = None, out=print) -> int:
    target = sshcmd.connect(host, settings)
    code = _start(host, target, settings, open_browser, out)
    if idle_minutes is not None:
        job.arm_idle(target, idle_minutes, venv=settings["venv"],
                     remote_dir=settings["remote_dir"], out=out)
    return code


def _start(host, target, settings, open_browser, out) -> int:
    state_folder = state.private_dir(state.state_dir())
    old = state.load(state_folder, host)
    if old and old.get("ready") and _healthy(old):
        out(f"already running on {target.label}:")
        out(local.url(old["local_port"], old["token"]))
        return 0
    if old and old.get("ready") and _reconnect(host, old, target, settings, state_folder,
                                               open_browser, out):
        return 0
    if old:
        out(f"cleaning up the previous session on {target.label} first")
        problems = _teardown(old)
        if problems:  # keep the record: it is what `stop` needs later
            raise RemoteError("; ".join(problems) + f"; run `{suggest('stop', host)}` when "
                              "the host is reachable, then start again")
        state.remove(state_folder, host)
    record = {
        "target": target.to_dict(),
        "local_port": ports.choose_local_port(settings["local_port"]),
        "remote_port": settings["remote_port"],
        "venv": settings["venv"],
        "remote_dir": settings["remote_dir"],
        "token": secrets.token_hex(24),
        "control": state.new_control_path(state_folder, host),
        "ssh_log": str(state.state_path(state_folder, host).with_suffix(".ssh.log")),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "ready": False,
    }
    try:
        _open_tunnel(host, target, record, settings, state_folder)
        _launch(target, record)
        state.save(state_folder, host, record)
        server = _wait_ready(target, record, settings["timeout"])
        record["token"] = server.get("token") or record["token"]
        record["remote_pid"] = server.get("pid", record["remote_pid"])
        record["status"] = _wait_api(record, 20)
        record["ready"] = True
        state.save(state_folder, host, record)
    except BaseException:
        _teardown(record, graceful=record.get("ready", False))
        state.remove(state_folder, host)
        raise
    _announce(host, target, record, state_folder if open_browser else None, out)
    return 0


def _open_tunnel(host, target, record, settings, state_folder) -> None:
    """Open the ssh tunnel that ``record`` describes, and save the record with its pid at
    once (whatever happens next, `stop` can then close it)."""
    record["ssh_pid"] = sshcmd.open_master(
        target, record["control"], record["local_port"], record["remote_port"],
        record["ssh_log"], timeout=settings["connect_timeout"] + 30)
    state.save(state_folder, host, record)


def _announce(host, target, record, browser_dir, out) -> None:
    address = local.url(record["local_port"], record["token"])
    out(f"JupyterLab on {target.label} port {record['remote_port']} is tunnelled to "
        f"127.0.0.1:{record['local_port']} (ssh pid {record['ssh_pid']})")
    out(address)
    out(f"stop it (and the tunnel) with: {suggest('stop', host)}")
    if browser_dir is not None:
        page = open_in_browser(browser_dir, host, address)
        if page is None:
            out("no browser found: open the URL above yourself")
        else:
            out(f"opening it in your browser through {page} (keeps the token off command lines)")


def open_in_browser(state_folder, host: str, address: str):
    """Open ``address`` in the browser without putting it (and its token) on a command line.

    The browser is given the path of a private page (mode 0600, in the state folder)
    that redirects to ``address``; ``stop`` deletes the page. Returns the page's path,
    or None when no browser could be started.
    """
    page = state.write_redirect(state_folder, host, address)
    try:
        opened = webbrowser.open(page.as_uri())
    except webbrowser.Error:
        opened = False
    return page if opened else None


def _reconnect(host, old, target, settings, state_folder, open_browser, out) -> bool:
    """The tunnel is gone (laptop slept, network changed) but the server may still run:
    open a new tunnel to it, so its kernels and their variables survive."""
    try:
        proc = sshcmd.run_script(target, scripts.poll(old.get("venv"), old.get("remote_dir"),
                                                      old["remote_port"], old["remote_pid"]),
                                 timeout=60, what="jupyter server list")
    except RemoteError:
        return False
    if not _listed(proc.stdout, old["remote_port"]) or "ALIVE" not in scripts.markers(proc.stdout):
        return False
    out(f"the tunnel was down but JupyterLab still runs on {target.label}: reconnecting")
    old_target = sshcmd.Target.from_dict(old["target"])
    sshcmd.close_master(old_target, old.get("control"))
    wanted = settings["local_port"]
    if wanted is None and not ports.is_listening(old["local_port"]):
        wanted = old["local_port"]  # keep the URL the browser already has, when possible
    record = dict(old, target=target.to_dict(), control=state.new_control_path(state_folder, host),
                  local_port=ports.choose_local_port(wanted))
    _open_tunnel(host, target, record, settings, state_folder)
    record["status"] = _wait_api(record, 20)
    state.save(state_folder, host, record)
    _announce(host, target, record, state_folder if open_browser else None, out)
    return True


def _launch(target, record) -> None:
    script = scripts.start(record["venv"], record["remote_dir"], record["remote_port"],
                           record["token"])
    record["remote_pid"] = None  # from now on, teardown also asks the host to stop
    proc = sshcmd.run_script(target, script, control=record["control"], timeout=60,
                             what="starting JupyterLab")
    found = scripts.markers(proc.stdout)
    if proc.returncode == scripts.NO_JUPYTER:
        raise RemoteError(f"no JupyterLab on {target.label}: the environment has no "
                          f"{found['NOJUPYTER'][0]}; run `{suggest('setup', target.destination)}` "
                          "again, or install jupyterlab into it")
    if proc.returncode == scripts.NO_ENV:
        raise RemoteError(f"no course environment on {target.label}: {found['NOENV'][0]} does "
                          f"not exist; run `{suggest('setup', target.destination)}` first (it "
                          "creates it), or pass --venv PATH")
    if proc.returncode != 0 or "PID" not in found:
        raise RemoteError(f"could not start JupyterLab on {target.label}: "
                          f"{scripts.last_line(proc.stderr + proc.stdout)}")
    record["remote_pid"] = int(found["PID"][0])
    record["remote_log"] = found.get("LOG", ["?"])[0]


def _teardown(record, graceful: bool = True) -> list:
    """Stop the remote server, then close the tunnel; returns the problems (one line each)."""
    problems = []
    target = sshcmd.Target.from_dict(record["target"])
    control = record.get("control")
    tunnel_up = sshcmd.master_pid(target, control) is not None
    if "remote_pid" in record:
        script = scripts.stop(record.get("venv"), record.get("remote_dir"),
                              record["remote_port"], record.get("remote_pid"), graceful)
        try:
            proc = sshcmd.run_script(target, script, control=control if tunnel_up else None,
                                     timeout=90, what="stopping JupyterLab")
            if "STOPPED" not in scripts.markers(proc.stdout):
                problems.append(f"JupyterLab (pid {record.get('remote_pid')}) on {target.label} "
                                "is still running")
        except RemoteError as exc:
            problems.append(f"could not stop JupyterLab on {target.label}: {exc}")
    if tunnel_up:
        sshcmd.close_master(target, control)
    pid = record.get("ssh_pid")
    if pid and not local.wait_gone(pid, 5) and control and control in local.command_line(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        if not local.wait_gone(pid, 3):
            problems.append(f"the ssh tunnel (pid {pid}) did not exit")
    if control and os.path.exists(control) and not problems:
        try:
            os.unlink(control)
        except OSError:
            pass
    return problems


def _recorded(state_folder, host: str | None) -> tuple:
    """(hosts to act on, problems): without HOST, every usable state file, and one line
    (path and what to do) for each damaged one, never skipped in silence."""
    if host:
        return [host], []
    return state.hosts(state_folder), state.damaged(state_folder)


def stop(host: str | None, settings: dict, out=print) -> int:
    """End the host's job, stop JupyterLab and close the tunnel (every recorded host
    without HOST)."""
    state_folder = state.state_dir()
    targets, errors = _recorded(state_folder, host)
    if not targets and not errors:
        out("nothing to stop: no session is recorded")
        return 0
    failed = []
    for name in targets:
        record = state.load(state_folder, name)
        try:
            ended = job.stop_job(_target(name, record, settings), _control(record))
        except RemoteError as exc:
            if record is None:
                raise
            ended = None
            failed.append(f"could not stop the job on {name}: {exc}")
        if ended:
            out(ended)
        if record is None:
            if not ended:
                others = ", ".join(state.hosts(state_folder)) or "none"
                out(f"{name}: nothing to stop (no job runs, no session recorded; recorded "
                    f"sessions: {others})")
            continue
        problems = _teardown(record)
        if problems:
            state.save(state_folder, name, record)
            failed.extend(problems)
        else:
            state.remove(state_folder, name)
            out(f"{name}: JupyterLab stopped and tunnel closed")
    if failed:
        errors.append("; ".join(failed) + "; run stop again when the host is reachable")
    if errors:
        raise RemoteError("; ".join(errors))
    return 0


def _target(name: str, record: dict | None, settings: dict):
    """The host of a recorded session, else as the settings reach ``name``."""
    return sshcmd.Target.from_dict(record["target"]) if record else sshcmd.connect(name, settings)


def _control(record: dict | None) -> str | None:
    """The session's control socket when its tunnel is up (commands then reuse it)."""
    if not record:
        return None
    target = sshcmd.Target.from_dict(record["target"])
    return record.get("control") if sshcmd.master_pid(target, record.get("control")) else None


def status(host: str | None, settings: dict, *, show_url: bool = False, out=print) -> int:
    state_folder = state.state_dir()
    targets, damaged = _recorded(state_folder, host)
    if not targets and not damaged:
        out(f"no session is recorded (start one with: {suggest('start', 'HOST')})")
        return 1
    healthy = True
    for name in targets:
        record = state.load(state_folder, name)
        if record is None:
            out(f"{name}: JupyterLab not running (no session recorded)")
        else:
            healthy &= _status_one(name, record, show_url, out)
        try:
            lines, running = job.job_lines(_target(name, record, settings), _control(record))
        except RemoteError as exc:
            lines, running = [f"  job:     unknown ({exc})"], False
        for line in lines:
            out(line)
        if record is None:
            healthy &= running
    if damaged:
        raise RemoteError("; ".join(damaged))
    return 0 if healthy else 1


def _status_one(name, record, show_url, out) -> bool:
    target = sshcmd.Target.from_dict(record["target"])
    pid = sshcmd.master_pid(target, record.get("control"))
    out(f"{name}: {target.label}")
    local_port, remote_port = record["local_port"], record["remote_port"]
    if pid:
        out(f"  tunnel:  up (ssh pid {pid}), 127.0.0.1:{local_port} -> host "
            f"127.0.0.1:{remote_port}")
    else:
        out(f"  tunnel:  DOWN (run `{suggest('start', name)}` again to reopen it)")
    answer = local.api_get(local_port, record["token"]) if pid else None
    if answer:
        out(f"  jupyter: answers /api/status: {answer.get('kernels', '?')} kernel(s), "
            f"{answer.get('connections', '?')} connection(s), last activity "
            f"{answer.get('last_activity', '?')}")
    else:
        out("  jupyter: NOT answering through the tunnel")
    try:
        proc = sshcmd.run_script(target, scripts.gpu(None, None, with_tensorflow=False, brief=True),
                                 control=record.get("control") if pid else None, timeout=30,
                                 what="nvidia-smi")
        found = scripts.markers(proc.stdout)
        if "NOSMI" in found:
            out("  gpu:     no nvidia-smi on the host")
        for line in found.get("GPU", []):
            out(f"  gpu:     {line}")
        for line in found.get("APP", []):
            out(f"  process: {line}")
    except RemoteError as exc:
        out(f"  gpu:     unknown ({exc})")
    if show_url:
        out(f"  url:     {local.url(local_port, record['token'])}")
    else:
        out(f"  url:     token hidden; `{suggest('status', name, '--url')}` prints it")
    return bool(pid and answer)
