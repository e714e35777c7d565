"""Settings: command-line flags over the small config file over built-in defaults.

The config file (``--config``, else ``$DLREMOTE_CONFIG``, else
``$XDG_CONFIG_HOME/dlcourse-remote/config.ini``, else
``~/.config/dlcourse-remote/config.ini``) is INI: a ``[defaults]`` section and
one section per HOST exactly as typed on the command line (an ``~/.ssh/config``
alias or ``user@host``)::

    [defaults]
    remote_port = 8888

    [gpubox]
    identity = ~/.ssh/gpu.pem
    venv = ~/dlcourse/.venv

Connection details (HostName, User, Port, IdentityFile) may equally live in
``~/.ssh/config``; ssh itself resolves them (see ``sshcmd.resolve``).
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from dlremote import RemoteError

# ssh takes ConnectTimeout as whole seconds in a C int; a day is far more than any wait
MAX_SECONDS = 86400


def _number(text: str, convert, what: str):
    """``convert(text)``; a ValueError saying that ``text`` is not ``what`` if it fails."""
    try:
        return convert(text)
    except ValueError:
        raise ValueError(f"{text!r} is not {what}") from None


def port(text: str) -> int:
    """A TCP port number, 1..65535, from a flag or the config file (ValueError if not)."""
    value = _number(text, int, "a port number")
    if not 1 <= value <= 65535:
        raise ValueError(f"port must be in 1..65535, not {value}")
    return value


def seconds(text: str) -> float:
    """A number of seconds in (0, MAX_SECONDS], from a flag or the config file.

    Finite and bounded, so every use can take it: ssh's ConnectTimeout (an int),
    subprocess timeouts and deadlines. ValueError naming the problem otherwise.
    """
    value = _number(text, float, "a number of seconds")
    if not 0 < value <= MAX_SECONDS:  # also refuses nan and inf
        raise ValueError(f"must be a positive number of seconds up to {MAX_SECONDS} (one day), "
                         f"not {text.strip()}")
    return value


def minutes(text: str) -> float:
    """A number of minutes in [0, MAX_SECONDS / 60] (0: off), from a flag or the config file."""
    value = _number(text, float, "a number of minutes")
    if not 0 <= value <= MAX_SECONDS / 60:  # also refuses nan and inf
        raise ValueError(f"must be a number of minutes from 0 (off) up to {MAX_SECONDS // 60} "
                         f"(one day), not {text.strip()}")
    return value


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "yes", "true", "on"):
        return True
    if lowered in ("0", "no", "false", "off"):
        return False
    raise ValueError("expected yes or no")


# setting name -> parser of its text value
SETTINGS = {
    "identity": str,
    "user": str,
    "port": port,
    "ssh_config": str,
    "local_port": port,
    "remote_port": port,
    "remote_dir": str,
    "venv": str,
    "remote_python": str,
    "timeout": seconds,
    "connect_timeout": seconds,
    "browser": _flag,
    "stop_after_idle": minutes,
}

DEFAULTS = {
    "identity": None,
    "user": None,
    "port": None,
    "ssh_config": None,
    "local_port": None,
    "remote_port": 8888,
    "remote_dir": None,  # None: what `setup` recorded on the host, else ~/dlcourse
    "venv": None,  # None: what `setup` recorded on the host, else <remote_dir>/.venv
    "remote_python": None,
    "timeout": 90.0,
    "connect_timeout": 15.0,
    "browser": True,
    "stop_after_idle": None,  # None: leave the host's idle watcher as it is (off unless armed)
}


def config_path(explicit: str | None = None, env: dict | None = None) -> Path:
    """Where the config file is looked for (it need not exist)."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get("DLREMOTE_CONFIG"):
        return Path(env["DLREMOTE_CONFIG"]).expanduser()
    home = env.get("HOME") or str(Path.home())
    base = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return Path(base) / "dlcourse-remote" / "config.ini"


def read_config(path: Path, host: str | None, required: bool = False) -> dict:
    """Settings from ``[defaults]`` then ``[host]`` of the file, parsed and checked."""
    parser = configparser.ConfigParser(interpolation=None, default_section="__none__")
    try:
        with open(path) as file:
            parser.read_file(file)
    except FileNotFoundError:
        if required:
            raise RemoteError(f"config file {path} not found") from None
        return {}
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise RemoteError(f"config file {path} is not valid INI: {first}") from None
    values: dict = {}
    for section in ("defaults", host):
        if section is None or not parser.has_section(section):
            continue
        for name, text in parser.items(section):
            if name not in SETTINGS:
                known = ", ".join(sorted(SETTINGS))
                raise RemoteError(
                    f"config file {path}: unknown setting {name!r} in [{section}] (known: {known})"
                )
            try:
                values[name] = SETTINGS[name](text)
            except ValueError as exc:
                raise RemoteError(
                    f"config file {path}: [{section}] {name} = {text!r} is invalid ({exc})"
                ) from None
    return values


def merge(flags: dict, from_file: dict) -> dict:
    """Defaults, overridden by the file, overridden by flags that were given (not None)."""
    settings = dict(DEFAULTS)
    settings.update(from_file)
    settings.update({name: value for name, value in flags.items()
                     if name in DEFAULTS and value is not None})
    return settings
