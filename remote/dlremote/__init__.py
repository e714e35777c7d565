"""dlcourse-remote: JupyterLab on a cloud GPU through an SSH tunnel.

Runs on the learner's laptop with only Python's standard library and the
OpenSSH client. The command-line entry point is :func:`dlremote.cli.main`.
"""

__version__ = "0.1.0"


class RemoteError(Exception):
    """A failure the user can act on; printed as one line, exit status 1."""
