"""The local state file of a session: one JSON file per host, mode 0600.

It records what ``stop`` and ``status`` need: the ssh options used, the control
socket and pid of the tunnel, both ports, the remote server's pid and its token.
The directory is ``$DLREMOTE_STATE_DIR``, else ``$XDG_STATE_HOME/dlcourse-remote``,
else ``~/.local/state/dlcourse-remote`` (mode 0700). The token lives only here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import tempfile
from pathlib import Path

from dlremote import RemoteError

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


def private_dir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    return directory


def save(directory: Path, host: str, data: dict) -> Path:
    """Write the state of ``host`` atomically, readable by the owner only."""
    path = state_path(private_dir(Path(directory)), host)
    record = dict(data, host=host)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(directory: Path, host: str) -> dict | None:
    """The saved state of ``host``, or None when nothing is recorded."""
    path = state_path(directory, host)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RemoteError(f"state file {path} is damaged ({exc.msg}); delete it") from None
    if not isinstance(data, dict) or data.get("host") != host:
        raise RemoteError(f"state file {path} does not belong to {host!r}; delete it")
    return data


def remove(directory: Path, host: str) -> bool:
    """Delete the state of ``host``; False if there was none."""
    try:
        state_path(directory, host).unlink()
        return True
    except FileNotFoundError:
        return False


def hosts(directory: Path) -> list[str]:
    """Hosts with a recorded session, sorted."""
    found = []
    for path in sorted(Path(directory).glob("*.json")):
        try:
            host = json.loads(path.read_text()).get("host")
        except (OSError, json.JSONDecodeError, AttributeError):
            continue
        if isinstance(host, str) and path.name == f"{_key(host)}.json":
            found.append(host)
    return sorted(found)


def new_control_path(directory: Path, host: str) -> str:
    """A fresh path for the ssh control socket (short enough for sun_path)."""
    name = f"cm-{_key(host)[-8:]}-{secrets.token_hex(3)}"
    candidate = Path(directory) / name
    if len(str(candidate)) > MAX_SOCKET_PATH:
        short = Path(tempfile.gettempdir()) / f"dlremote-{os.getuid()}"
        candidate = private_dir(short) / name
    else:
        private_dir(Path(directory))
    return str(candidate)
