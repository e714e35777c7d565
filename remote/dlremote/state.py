"""The local state file of a session: one JSON file per host, mode 0600.

It records what ``stop`` and ``status`` need: the ssh options used, the control
socket and pid of the tunnel, both ports, the remote server's pid and its token.
The directory is ``$DLREMOTE_STATE_DIR``, else ``$XDG_STATE_HOME/dlcourse-remote``,
else ``~/.local/state/dlcourse-remote`` (mode 0700). Every command checks the folder
and each file before reading it (:func:`check_trusted`), and the recorded ssh
options as the command line's (``sshcmd.check_options``).
The token lives only here: in the state file and in the small page that opens the
browser (``HOST-....open.html``, mode 0600), both deleted by ``stop``.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import secrets
import shlex
import stat
import tempfile
from pathlib import Path

from dlremote import RemoteError, sshcmd

# A Unix socket path must fit in sun_path (104 bytes on macOS, 108 on Linux);
# ssh also appends a random suffix while it creates the socket.
MAX_SOCKET_PATH = 80


def state_dir(env: dict | None = None) -> Path:
    """The directory holding state files (not created here)."""
    env = os.environ if env is None else env
    if env.get("DLREMOTE_STATE_DIR"):
        return Path(env["DLREMOTE_STATE_DIR"])
    if env.get("XDG_STATE_HOME"):
        return Path(env["XDG_STATE_HOME"]) / "dlcourse-remote"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".local" / "state" / "dlcourse-remote"


def _key(host: str) -> str:
    """File-name-safe, collision-free name for a host as the user typed it."""
    if not host:
        raise RemoteError("empty host name")
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", host)[:40]
    digest = hashlib.sha256(host.encode()).hexdigest()[:8]
    return f"{safe}-{digest}"


def state_path(directory: Path, host: str) -> Path:
    return Path(directory) / f"{_key(host)}.json"


def private_dir(directory: Path, shared: bool = False) -> Path:
    """Create ``directory`` (mode 0700) or check that the one there is safe to use.

    Refused as :func:`check_trusted` does; a directory of ours that others may only
    read is tightened to 0700. ``shared``: it lives in the shared temporary directory
    (changes the advice given).
    """
    directory = Path(directory)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
    except OSError as exc:
        raise RemoteError(f"cannot create the folder {directory}: {exc.strerror}") from None
    path_stat = check_trusted(directory, shared=shared)
    if path_stat is not None and stat.S_IMODE(path_stat.st_mode) != 0o700:
        os.chmod(directory, 0o700)
    return directory


class UntrustedPathError(RemoteError):
    """A state folder or file that someone else could have written: never read."""


def _user(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name}, uid {uid}"
    except (ImportError, KeyError):
        return f"uid {uid}"


def trust_problem(path: Path, path_stat: os.stat_result, folder: bool = True,
                  uid: int | None = None) -> tuple | None:
    """(why, fix) when ``path`` (``lstat``: ``path_stat``) is unsafe for user ``uid``, else None.

    Safe: a real folder (or, with ``folder=False``, a regular file), owned by ``uid``
    (default: you), that neither group nor others may write to.
    """
    uid = os.getuid() if uid is None else uid
    quoted = shlex.quote(str(path))
    remove = "remove it (as its owner, or root)" if folder else f"delete it (rm {quoted})"
    if stat.S_ISLNK(path_stat.st_mode):
        return "it is a symbolic link", remove
    if not (stat.S_ISDIR if folder else stat.S_ISREG)(path_stat.st_mode):
        return ("it is not a folder" if folder else "it is not a regular file"), remove
    if path_stat.st_uid != uid:
        return f"it belongs to another user (you are {_user(uid)})", remove
    if path_stat.st_mode & 0o022:
        why = "group or others may write to it, so someone else may have changed it"
        # chmod makes a folder of ours safe again (what others left in it is refused file
        # by file); a file's text may already have been changed, so it goes
        return why, f"fix it with: chmod 700 {quoted}" if folder else remove
    return None


def check_trusted(path: Path, folder: bool = True, shared: bool = False,
                  uid: int | None = None) -> os.stat_result | None:
    """The ``lstat`` of a state folder (or file), or None when there is none.

    Every command checks a folder and a file before it reads them: one that
    :func:`trust_problem` finds unsafe raises UntrustedPathError, one line naming
    the path, its owner and mode, why, and the fix. ``shared``: the folder lives in
    the shared temporary directory (changes the advice given).
    """
    path = Path(path)
    try:
        path_stat = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RemoteError(f"cannot check {path}: {exc.strerror}") from None
    found = trust_problem(path, path_stat, folder, uid)
    if found is None:
        return path_stat
    why, fix = found
    if folder:
        fix += (", or set TMPDIR to a private folder of yours" if shared
                else ", or set DLREMOTE_STATE_DIR to a private folder of yours")
    raise UntrustedPathError(
        f"refusing to use the {'folder' if folder else 'state file'} {path} (owner "
        f"{_user(path_stat.st_uid)}; mode {stat.S_IMODE(path_stat.st_mode):03o}): {why}; {fix}")


def _write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-",
                                             suffix=path.suffix)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return path


def save(directory: Path, host: str, data: dict) -> Path:
    """Write the state of ``host`` atomically, readable by the owner only."""
    path = state_path(private_dir(Path(directory)), host)
    return _write_private(path, json.dumps(dict(data, host=host), indent=2, sort_keys=True))


def redirect_path(directory: Path, host: str) -> Path:
    return Path(directory) / f"{_key(host)}.open.html"


def write_redirect(directory: Path, host: str, address: str) -> Path:
    """A private (0600) HTML page that sends the browser on to ``address``.

    Opening this file instead of ``address`` keeps the token off the browser's
    command line (which every user of the laptop can read with ``ps``).
    """
    link = html.escape(address, quote=True)
    page = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url={link}">
<title>JupyterLab on {html.escape(host)}</title></head>
<body><p>Opening <a href="{link}">JupyterLab on {html.escape(host)}</a>...</p></body></html>
"""
    return _write_private(redirect_path(private_dir(Path(directory)), host), page)


# what every record has from its first save on (see session.start)
REQUIRED = {"target": dict, "local_port": int, "remote_port": int, "token": str}


def _check_record(path: Path, text: str, host: str | None) -> dict:
    """The record in ``text``; RemoteError naming ``path`` and what to do if it is unusable."""
    fix = (f"delete it (rm {shlex.quote(str(path))}); if JupyterLab still runs on the host, "
           "stop it there with `jupyter server stop PORT`")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RemoteError(f"state file {path} is damaged ({exc}); {fix}") from None
    if not isinstance(data, dict) or not isinstance(data.get("host"), str):
        raise RemoteError(f"state file {path} is damaged (no host recorded); {fix}")
    if path.name != f"{_key(data['host'])}.json" or (host is not None and data["host"] != host):
        raise RemoteError(f"state file {path} does not belong to {host or data['host']!r}; {fix}")
    for name, kind in REQUIRED.items():
        if not isinstance(data.get(name), kind) or isinstance(data.get(name), bool):
            raise RemoteError(f"state file {path} is damaged ({name!r} missing or wrong); {fix}")
    try:  # the same checks as what the command line gives
        sshcmd.check_host(data["target"].get("dest"))  # Target.destination
        sshcmd.check_options(data["target"].get("options", []))
    except RemoteError as exc:
        raise RemoteError(f"state file {path} has an ssh target this tool would not use ({exc}); "
                          f"{fix}") from None
    return data


def _read(path: Path) -> str | None:
    """The text of a state file, None if absent; its folder and itself are checked first."""
    if check_trusted(path.parent) is None or check_trusted(path, folder=False) is None:
        return None
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise RemoteError(f"cannot read the state file {path} ({exc}); delete it") from None


def load(directory: Path, host: str) -> dict | None:
    """The saved state of ``host``, or None when nothing is recorded.

    A file that cannot be used raises RemoteError (its path and what to do).
    """
    path = state_path(directory, host)
    text = _read(path)
    return None if text is None else _check_record(path, text, host)


def remove(directory: Path, host: str) -> bool:
    """Delete the state of ``host`` and its browser page; False if there was no state."""
    try:
        redirect_path(directory, host).unlink()
    except FileNotFoundError:
        pass
    try:
        state_path(directory, host).unlink()
        return True
    except FileNotFoundError:
        return False


def _state_files(directory: Path) -> list:
    if check_trusted(directory) is None:
        return []
    return [path for path in sorted(Path(directory).glob("*.json"))
            if not path.name.startswith(".tmp-")]


def hosts(directory: Path) -> list[str]:
    """Hosts with a usable recorded session, sorted (see :func:`damaged` for the others)."""
    found = []
    for path in _state_files(directory):
        try:
            found.append(_check_record(path, _read(path) or "", None)["host"])
        except RemoteError:
            continue
    return sorted(found)


def damaged(directory: Path) -> list[str]:
    """One line per state file in ``directory`` that cannot be used: its path, what to do."""
    problems = []
    for path in _state_files(directory):
        try:
            text = _read(path)
            if text is not None:
                _check_record(path, text, None)
        except RemoteError as exc:
            problems.append(str(exc))
    return problems


def new_control_path(directory: Path, host: str) -> str:
    """A fresh path for the ssh control socket (short enough for sun_path)."""
    name = f"cm-{_key(host)[-8:]}-{secrets.token_hex(3)}"
    candidate = Path(directory) / name
    if len(str(candidate)) > MAX_SOCKET_PATH:
        short = Path(tempfile.gettempdir()) / f"dlremote-{os.getuid()}"
        candidate = private_dir(short, shared=True) / name
    else:
        private_dir(Path(directory))
    return str(candidate)
