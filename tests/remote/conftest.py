"""Fixtures for remote/: a real OpenSSH server on 127.0.0.1 acting as the GPU host.

The server runs as the current user from a throwaway directory (host key, user
key, authorized_keys, pinned known_hosts, sshd_config); the "remote" sessions get
an isolated $HOME and a PATH that starts with a shim ``nvidia-smi``. When
``sshd`` is missing and we are root, Debian's ``openssh-server`` is installed once.
Every process started here is killed by a finalizer, whatever the test outcome.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .remote_support import (  # noqa: E402
    NVIDIA_SMI_SHIM,
    SshServer,
    Tool,
    free_port,
    pids_matching,
    send_signal,
)


def _find_sshd() -> str | None:
    found = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin")
    return os.path.realpath(found) if found else None


@pytest.fixture(scope="session")
def sshd_binary() -> str:
    """Path of sshd; installs openssh-server (root only) when it is missing."""
    sshd = _find_sshd()
    if sshd is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        try:
            subprocess.run("apt-get update -q && apt-get install -y -q openssh-server",
                           shell=True, env=env, timeout=300, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"!!! E2E SKIPPED: sshd missing; installing openssh-server failed: {exc}")
        sshd = _find_sshd()
    if sshd is None:
        pytest.skip("!!! E2E SKIPPED: no sshd (install Debian's openssh-server, or run as root "
                    "so the tests install it)")
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        pytest.skip("!!! E2E SKIPPED: the OpenSSH client (ssh, ssh-keygen) is not installed")
    return sshd


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dlremote-test",
                    "-f", str(path)], check=True)
    os.chmod(path, 0o600)
    return path


def _write_sshd_config(server: SshServer, host_key: Path) -> Path:
    path = server.base / "sshd_config"
    path.write_text(f"""\
ListenAddress 127.0.0.1
Port {server.port}
HostKey {host_key}
PidFile {server.base / 'sshd.pid'}
AuthorizedKeysFile {server.base / 'authorized_keys'}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AllowAgentForwarding no
AllowTcpForwarding local
GatewayPorts no
X11Forwarding no
PermitTunnel no
PrintMotd no
MaxSessions 30
MaxStartups 30
LogLevel VERBOSE
SetEnv HOME={server.remote_home} PATH={server.shim_bin}:/usr/local/bin:/usr/bin:/bin
""")
    return path


def _write_client_config(server: SshServer, known_hosts: Path) -> None:
    common = f"""\
  HostName 127.0.0.1
  User {os.environ.get('USER') or __import__('getpass').getuser()}
  UserKnownHostsFile {known_hosts}
  GlobalKnownHostsFile /dev/null
  IdentitiesOnly yes
"""
    server.config.write_text(
        f"Host dlr-test\n  Port {server.port}\n  IdentityFile {server.key}\n{common}\n"
        f"Host dlr-wrongkey\n  Port {server.port}\n  IdentityFile {server.wrong_key}\n{common}\n"
        f"Host dlr-down\n  Port {server.closed_port}\n  IdentityFile {server.key}\n{common}")


def _wait_for_banner(port: int, proc: subprocess.Popen, log: Path, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"sshd did not answer on 127.0.0.1:{port}: {log.read_text()[-2000:]}")


def _kill_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)


@pytest.fixture(scope="session")
def ssh_server(sshd_binary, tmp_path_factory):
    """A running sshd on 127.0.0.1:<free port>, torn down at the end of the session."""
    base = tmp_path_factory.mktemp("sshd")
    server = SshServer(base, free_port())
    server.closed_port = free_port()  # nothing listens there: "host unreachable"
    server.remote_home.mkdir(mode=0o700)
    server.shim_bin.mkdir()
    nvidia_smi = server.shim_bin / "nvidia-smi"
    nvidia_smi.write_text(NVIDIA_SMI_SHIM)
    nvidia_smi.chmod(0o755)
    host_key = _keygen(base / "host_key")
    _keygen(server.key)
    _keygen(server.wrong_key)
    (base / "authorized_keys").write_text((base / "user_key.pub").read_text())
    known_hosts = base / "known_hosts"
    host_pub = (base / "host_key.pub").read_text().split()
    known_hosts.write_text(f"[127.0.0.1]:{server.port} {host_pub[0]} {host_pub[1]}\n")
    _write_client_config(server, known_hosts)
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
    config = _write_sshd_config(server, host_key)
    with open(server.log, "wb") as log:
        proc = subprocess.Popen([sshd_binary, "-D", "-e", "-f", str(config)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    try:
        _wait_for_banner(server.port, proc, server.log)
        yield server
    finally:
        _kill_group(proc)
        # sessions and what they started live in their own groups: end all that name base
        for pid in pids_matching(str(base)):
            send_signal(pid, signal.SIGKILL)


@pytest.fixture
def tool(ssh_server, tmp_path):
    """The tool plus a finalizer that stops whatever a test left running."""
    home = tmp_path / "home"
    home.mkdir()
    # what an earlier test's `setup` recorded on the "host" must not leak into this one
    shutil.rmtree(ssh_server.remote_home / ".dlcourse-remote", ignore_errors=True)
    runner = Tool(home, ssh_server)
    yield runner
    if runner.state_dir.exists() and any(runner.state_dir.glob("*.json")):
        runner("stop", "-F", ssh_server.config, timeout=120)
    # ssh masters (they name the shared ssh config), remote servers, kernels and shims
    for marker in (str(ssh_server.config), str(ssh_server.remote_home), str(tmp_path)):
        for pid in pids_matching(marker):
            send_signal(pid, signal.SIGKILL)
