"""Turning ssh's stderr into one line that says what went wrong and what to do."""

from __future__ import annotations


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not _noise(line)]
    return lines[-1] if lines else "(no message)"


def _noise(line: str) -> bool:
    return line.startswith(("Warning: Permanently added", "Pseudo-terminal will not"))


def explain_failure(stderr: str, target, local_port: int | None = None) -> str:
    """One line saying why ssh failed and what to do about it."""
    text = "\n".join(line for line in stderr.splitlines() if not _noise(line))
    where = target.label
    if "Permission denied" in text:
        return (f"{where} refused the login (Permission denied): check the key (-i KEY) and "
                "the user name (ubuntu on Ubuntu images, ec2-user on Amazon Linux); "
                "a key with a passphrase must be loaded with ssh-add first")
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or "Host key verification failed" in text:
        return (f"the host key of {where} does not match your known_hosts; if the machine was "
                f"recreated, remove the old entry with: ssh-keygen -R {target.hostname}")
    if "Could not resolve hostname" in text:
        return f"cannot resolve the host name of {where}: check the spelling or your ~/.ssh/config"
    for reason in ("Connection refused", "timed out", "No route to host", "Network is unreachable",
                   "Connection closed", "Connection reset"):
        if reason in text:
            return (f"cannot reach {where}: {reason}; is the machine running, and is port "
                    f"{target.port} open to your IP address?")
    if "Address already in use" in text or "cannot listen to port" in text:
        port = f" {local_port}" if local_port else ""
        return (f"local port{port} is already in use on this computer; "
                "pick another with --local-port")
    if "UNPROTECTED PRIVATE KEY FILE" in text:
        return "ssh refused a private key readable by others; fix it with: chmod 600 KEY"
    return f"ssh to {where} failed: {last_line(stderr)}"
