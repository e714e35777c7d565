"""Private key hygiene: refuse a key that group or others can read or write."""

from __future__ import annotations

import os
import shlex
import stat

from dlremote import RemoteError


def check_key_permissions(path: str) -> None:
    """Refuse a private key that group or others may read or write."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise RemoteError(f"private key {path} not found") from None
    if not stat.S_ISREG(mode):
        raise RemoteError(f"private key {path} is not a regular file")
    if os.name == "posix" and mode & 0o077:
        raise RemoteError(
            f"private key {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(mode):03o}); fix it with: chmod 600 {shlex.quote(path)}"
        )


def check_keys(target, explicit: str | None) -> None:
    """Check the key given with -i (must exist) and every key ssh would offer."""
    if explicit:
        check_key_permissions(os.path.expanduser(explicit))
    for path in target.identities:
        check_key_permissions(path)
