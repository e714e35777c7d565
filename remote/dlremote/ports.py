"""Local TCP ports: choose a free one by binding, or check the one asked for.

Only the loopback interface (127.0.0.1) is ever bound.
"""

from __future__ import annotations

import errno
import socket

from dlremote import RemoteError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a port that was free on 127.0.0.1 a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def ensure_free(port: int) -> int:
    """Return ``port`` if it can be bound on 127.0.0.1, else raise RemoteError."""
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise RemoteError(f"local port must be an integer in 1..65535, got {port!r}")
    if is_listening(port):
        raise RemoteError(_taken(port, "already in use"))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # like ssh's own listener: connections of an old tunnel in TIME_WAIT do not count
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                reason = "already in use" if exc.errno == errno.EADDRINUSE else "not allowed"
                raise RemoteError(_taken(port, reason)) from None
            raise
    return port


def _taken(port: int, reason: str) -> str:
    return (f"local port {port} is {reason} on this computer (another tunnel or Jupyter?); "
            "pick another with --local-port, or leave it out to get a free one")


def choose_local_port(requested: int | None) -> int:
    """The requested port if free (clear error if not), else a free one."""
    return free_port() if requested is None else ensure_free(requested)


def is_listening(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        return probe.connect_ex((host, port)) == 0
