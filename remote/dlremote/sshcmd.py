"""Building and running OpenSSH client commands.

Every command carries the same safety options: no agent or X11 forwarding,
``StrictHostKeyChecking=accept-new`` against the user's normal known_hosts
(``yes`` is kept when the user's config asks for it; ``no`` is never used),
``BatchMode=yes`` (keys only, never a password prompt from a background
process), a connect timeout and keep-alives. Forwards are loopback on both ends.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

from dlremote import RemoteError, keys
from dlremote.diagnose import explain_failure, last_line

SSH = os.environ.get("DLREMOTE_SSH", "ssh")


@dataclass
class Target:
    """How to reach one host: ``ssh [options] destination`` plus what ssh resolved."""

    destination: str
    options: list = field(default_factory=list)
    hostname: str = ""
    user: str = ""
    port: int = 22
    identities: list = field(default_factory=list)

    @property
    def label(self) -> str:
        real = f"{self.user}@{self.hostname}:{self.port}"
        return self.destination if self.destination == real else f"{self.destination} ({real})"

    def to_dict(self) -> dict:
        """The target as a state file records it (``destination`` under its key ``dest``)."""
        return {"dest": self.destination, "options": list(self.options),
                "hostname": self.hostname, "user": self.user, "port": self.port,
                "identities": list(self.identities)}

    @classmethod
    def from_dict(cls, data: dict) -> Target:
        """The target a state file records (:meth:`to_dict`)."""
        others = {name: data[name] for name in cls.__dataclass_fields__
                  if name != "destination" and name in data}
        return cls(destination=data["dest"], **others)


def connect(host: str, settings: dict) -> Target:
    """Resolve ``host`` with ssh's own config and check the keys it would use."""
    options = base_options(settings["identity"], settings["user"], settings["port"],
                           settings["ssh_config"])
    target = resolve(host, options, settings["connect_timeout"])
    keys.check_keys(target, settings["identity"])
    return target


def base_options(identity=None, user=None, port=None, ssh_config=None) -> list:
    """The options a user would type: ``-F``, ``-i`` (only that key), ``-l``, ``-p``."""
    options = []
    if ssh_config:
        options += ["-F", os.path.expanduser(ssh_config)]
    if identity:
        options += ["-i", os.path.expanduser(identity), "-o", "IdentitiesOnly=yes"]
    if user:
        options += ["-l", user]
    if port:
        options += ["-p", str(int(port))]
    return options


def safety_options(resolved: dict, connect_timeout: float = 15) -> list:
    """Options added to every command (see the module docstring)."""
    options = ["-a", "-x", "-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={max(1, int(round(connect_timeout)))}",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=4"]
    if resolved.get("stricthostkeychecking", ["ask"])[0] not in ("true", "yes"):
        options += ["-o", "StrictHostKeyChecking=accept-new"]
    return options


# What a Target's options may hold: the flags of base_options (with a value) and of
# safety_options (alone), and the -o keywords those two set, each with its allowed values.
# Anything else (ProxyCommand, LocalCommand, PermitLocalCommand, ...) could run a command.
VALUE_FLAGS = {"-F": r".+", "-i": r".+", "-l": r".+", "-p": r"\d+"}
LONE_FLAGS = {"-a", "-x"}
OWN_OPTIONS = {"IdentitiesOnly": "yes", "ForwardAgent": "no", "ForwardX11": "no",
               "BatchMode": "yes", "StrictHostKeyChecking": "accept-new",
               "ConnectTimeout": r"\d+", "ServerAliveInterval": r"\d+",
               "ServerAliveCountMax": r"\d+"}


def check_options(options) -> list:
    """``options`` itself if it is a list this tool could have built, else RemoteError.

    Applied to the options of every Target, from the command line (``resolve``) or
    read back from a state file, so neither can carry an ssh option that runs commands.
    """
    if not isinstance(options, list) or not all(isinstance(option, str) for option in options):
        raise RemoteError(f"ssh options must be a list of strings, not {options!r}")
    words = iter(options)
    for word in words:
        if word in LONE_FLAGS:
            continue
        value = next(words, None)
        if word == "-o" and value is not None:
            name, _, setting = value.partition("=")
            allowed = OWN_OPTIONS.get(name)
        else:
            allowed, setting = VALUE_FLAGS.get(word), value
        if allowed is None or setting is None or not re.fullmatch(allowed, setting):
            shown = " ".join(shlex.quote(part) for part in (word, value) if part is not None)
            raise RemoteError(f"ssh option {shown} refused (dlcourse-remote passes only -F, -i, "
                              "-l, -p and its own safety options)")
    return options


def check_host(host) -> str:
    """``host`` if ssh can only take it as a destination (not an option), else RemoteError."""
    if not isinstance(host, str) or not host or host.startswith("-") or any(
            character.isspace() for character in host):
        raise RemoteError(f"not a host name: {host!r} (expected HOST, user@host or an ssh alias)")
    return host


def parse_ssh_g(text: str) -> dict:
    """``ssh -G`` output -> {lowercase keyword: [values in order]}."""
    resolved: dict = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key:
            resolved.setdefault(key.lower(), []).append(value.strip())
    return resolved


def _home() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_dir  # what ssh itself uses for ~
    except (ImportError, KeyError):
        return os.path.expanduser("~")


def expand_identity(path: str, resolved: dict) -> str | None:
    """Expand ``~`` and the common % tokens of an IdentityFile; None if others remain."""
    home = _home()
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    tokens = {"%d": home, "%u": os.environ.get("USER", ""), "%%": "%",
              "%h": resolved.get("hostname", [""])[0], "%r": resolved.get("user", [""])[0]}
    path = re.sub(r"%.", lambda token: tokens.get(token.group(0), token.group(0)), path)
    return None if "%" in path.replace("%%", "") else path


def resolve(host: str, options: list, connect_timeout: float = 15) -> Target:
    """Ask ``ssh -G`` what ``ssh options host`` would do (aliases, Include, Match...)."""
    check_host(host)
    check_options(options)
    if shutil.which(SSH) is None:
        raise RemoteError(f"the OpenSSH client ({SSH}) is not installed or not on PATH")
    proc = subprocess.run([SSH, "-G", *options, host], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=30)
    if proc.returncode != 0:
        raise RemoteError(f"ssh cannot use these settings for {host}: {last_line(proc.stderr)}")
    resolved = parse_ssh_g(proc.stdout)
    identities = []
    for raw in resolved.get("identityfile", []):
        path = expand_identity(raw, resolved)
        if path and os.path.exists(path) and path not in identities:
            identities.append(path)
    return Target(
        destination=host,
        options=list(options) + safety_options(resolved, connect_timeout),
        hostname=resolved.get("hostname", [host])[0],
        user=resolved.get("user", [""])[0],
        port=int(resolved.get("port", ["22"])[0]),
        identities=identities,
    )


def _verbose(args: list) -> None:
    if os.environ.get("DLREMOTE_VERBOSE"):
        print("+ " + " ".join(shlex.quote(word) for word in args), file=sys.stderr)


def command(target: Target, remote: list | None = None, control: str | None = None) -> list:
    """``ssh`` argv running ``remote`` (a list of words) on the host, no forwards."""
    control_options = (["-S", control, "-o", "ControlMaster=no"] if control
                       else ["-o", "ControlPath=none"])
    return [SSH, *target.options, *control_options, "-o", "ClearAllForwardings=yes", "-T",
            target.destination,
            *(remote or [])]


def run_script(target: Target, script: str, *, control: str | None = None, timeout: float = 120,
               what: str = "the remote command") -> subprocess.CompletedProcess:
    """Run a POSIX sh script on the host (sent on stdin, so secrets stay out of ``ps``).

    Raises RemoteError when ssh itself fails (exit 255) or the timeout passes;
    the script's own exit status is left to the caller.
    """
    args = command(target, ["sh", "-s"], control)
    _verbose(args)
    try:
        proc = subprocess.run(args, input=script, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RemoteError(
            f"{what} on {target.label} did not finish within {timeout:.0f} s") from None
    if proc.returncode == 255:
        raise RemoteError(explain_failure(proc.stderr, target))
    return proc


def stream_script(target: Target, script: str, timeout: float = 3600) -> tuple:
    """Run a long script whose output the user should watch; returns (status, marker lines).

    Lines starting with ``DLREMOTE_`` are collected, everything else is echoed live.
    """
    args = command(target, ["sh", "-c", shlex.quote(script)])
    _verbose(args)
    markers, lines = [], []
    with subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT) as proc:
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            if line.startswith("DLREMOTE_"):
                markers.append(line)
            else:
                lines.append(line)
                print(line, flush=True)
        status = proc.wait(timeout=timeout)
    if status == 255:
        raise RemoteError(explain_failure("\n".join(lines), target))
    return status, markers


def master_command(target: Target, control: str, local_port: int, remote_port: int) -> list:
    """``ssh -M -S control -f -N -L 127.0.0.1:LOCAL:127.0.0.1:REMOTE host``.

    ``-M -S`` makes it the master of a control socket (later commands reuse the
    connection, ``-O exit`` closes it), ``-f`` backgrounds ssh after login, ``-N``
    runs no remote command, ``-L`` forwards 127.0.0.1:LOCAL here to 127.0.0.1:REMOTE
    there; ExitOnForwardFailure makes a taken local port an error, not a warning.
    """
    forward = f"127.0.0.1:{int(local_port)}:127.0.0.1:{int(remote_port)}"
    return [SSH, *target.options, "-M", "-S", control, "-o", "ControlPersist=no",
            "-o", "ExitOnForwardFailure=yes", "-f", "-N", "-L", forward, target.destination]


def open_master(target: Target, control: str, local_port: int, remote_port: int,
                log_path: str, timeout: float) -> int:
    """Start :func:`master_command` (its messages go to ``log_path``); returns its pid."""
    args = master_command(target, control, local_port, remote_port)
    _verbose(args)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    start = os.lseek(log_fd, 0, os.SEEK_END)
    try:
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=log_fd, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RemoteError(f"ssh to {target.label} did not connect within {timeout:.0f} s") from None
    finally:
        os.close(log_fd)
    if proc.returncode != 0:
        with open(log_path, errors="replace") as log:
            log.seek(start)
            raise RemoteError(explain_failure(log.read(), target, local_port))
    pid = master_pid(target, control)
    if pid is None:
        raise RemoteError(f"the ssh tunnel to {target.label} started but its control socket "
                          f"{control} does not answer")
    return pid


def master_pid(target: Target, control: str) -> int | None:
    """Pid of the tunnel behind ``control`` if it answers ``ssh -O check``, else None."""
    if not control or not os.path.exists(control):
        return None
    proc = subprocess.run([SSH, *target.options, "-S", control, "-O", "check",
                           target.destination],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=15)
    match = re.search(r"pid=(\d+)", proc.stderr + proc.stdout)
    return int(match.group(1)) if proc.returncode == 0 and match else None


def close_master(target: Target, control: str) -> None:
    """``ssh -O exit``: ask the tunnel to close (no error if it is already gone)."""
    if control and os.path.exists(control):
        subprocess.run([SSH, *target.options, "-S", control, "-O", "exit", target.destination],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=15)
