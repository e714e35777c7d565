"""dlcourse-remote: JupyterLab on a cloud GPU through an SSH tunnel.

Runs on the learner's laptop with only Python's standard library and the
OpenSSH client. The command-line entry point is :func:`dlremote.cli.main`.
"""

import os
import shlex
import sys

__version__ = "0.1.0"


class RemoteError(Exception):
    """A failure the user can act on; printed as one line, exit status 1."""


def suggest(*words: str) -> str:
    """A command line of this tool to show in a message, e.g. ``remote/dlcourse-remote setup h``.

    Uses the path the tool was started with (``remote/dlcourse-remote`` when run from
    the checkout), so the suggestion can be pasted as it is.
    """
    argv0 = sys.argv[0] if sys.argv else ""
    tool = argv0 if os.path.basename(argv0) == "dlcourse-remote" else "dlcourse-remote"
    return " ".join(shlex.quote(word) for word in (tool, *words) if word)
