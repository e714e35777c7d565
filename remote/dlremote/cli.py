"""Command line: ``dlcourse-remote COMMAND [HOST] [options] [-- REMOTE COMMAND]``.

COMMAND is setup, start, run, logs, fetch, status, stop or gpu.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from dlremote import RemoteError, __version__, config, gpucheck, job, provision, session

PROG = "dlcourse-remote"

EPILOG = """\
HOST is what you would give ssh: an alias from ~/.ssh/config, a host name, or
user@host. Settings come from flags, then the config file's [HOST] and
[defaults] sections, then ~/.ssh/config. Errors are one line on stderr, exit
status 1 (2 for a wrong argument); `status` exits 1 when the tunnel or the
server is down. `run` and `logs` exit with the job's own exit status, 255 when
the connection drops (the job goes on). DLREMOTE_DEBUG=1 shows the traceback of
an unexpected error.
Examples:  dlcourse-remote start ubuntu@203.0.113.7 -i ~/.ssh/gpu.pem
           dlcourse-remote run gpubox --fetch -- make course NOTEBOOK=05
"""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


def checked(parse):
    """An argparse type from a parser of config.py: its ValueError becomes a one-line error."""
    def parse_argument(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse_argument


seconds = checked(config.seconds)
port = checked(config.port)
minutes = checked(config.minutes)


def _ssh_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection (as with ssh)")
    g.add_argument("-i", dest="identity", metavar="KEY", help="private key file (chmod 600)")
    g.add_argument("-l", dest="user", metavar="USER", help="remote user name")
    g.add_argument("-p", dest="port", type=port, metavar="PORT", help="ssh port of the host")
    g.add_argument("-F", dest="ssh_config", metavar="FILE", help="ssh config file to use")
    g.add_argument("--config", metavar="FILE", help="this tool's config file (INI)")
    g.add_argument("--connect-timeout", type=seconds, metavar="S", help="ssh connect timeout")
    g.add_argument("-v", "--verbose", action="store_true", help="print the ssh commands run")
    return p


def _env_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("environment on the host")
    g.add_argument("--venv", metavar="PATH",
                   help="the course's virtual environment on the host (default: what setup "
                        "recorded, else REMOTE_DIR/.venv)")
    g.add_argument("--remote-dir", metavar="PATH",
                   help="the course's folder on the host (default ~/dlcourse)")
    return p


def _idle_parent() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--stop-after-idle", type=minutes, metavar="MINUTES",
                   help="shut the host down (sudo shutdown -h now) once no job runs, no kernel "
                        "is busy and no browser is connected for MINUTES (0: off; default off)")
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description="JupyterLab on a cloud GPU through an SSH tunnel.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ssh, env, idle = _ssh_parent(), _env_parent(), _idle_parent()

    p = sub.add_parser("setup", parents=[ssh, env], help="copy the course, build its venv")
    p.add_argument("host", metavar="HOST")
    p.add_argument("--no-install", action="store_true",
                   help="use the environment at --venv as it is (nothing is installed)")
    p.add_argument("--no-copy", action="store_true", help="do not copy the course files")
    p.add_argument("--no-gpu-check", action="store_true", help="skip the final GPU check")
    p.add_argument("--remote-python", metavar="CMD",
                   help="Python used to create the venv (default: the first of python3.13, "
                        "python3.12, python3.11 and python3 that the course accepts)")
    p.add_argument("--project", metavar="DIR", help="course checkout to copy (default: this one)")

    p = sub.add_parser("start", parents=[ssh, env, idle], help="start JupyterLab and the tunnel")
    p.add_argument("host", metavar="HOST")
    p.add_argument("--local-port", type=port, metavar="N",
                   help="port on this computer (default: a free one)")
    p.add_argument("--remote-port", type=port, metavar="N", help="JupyterLab's port on the host "
                   "(default 8888; retries off, so a taken port is an error)")
    p.add_argument("--timeout", type=seconds, metavar="S",
                   help="seconds to wait for JupyterLab (default 90)")
    p.add_argument("--no-browser", dest="browser", action="store_false", default=None,
                   help="print the URL but do not open a browser")

    p = sub.add_parser("run", parents=[ssh, env, idle],
                       help="sync the course, run COMMAND detached on the host, follow it",
                       usage="%(prog)s HOST [options] [-- COMMAND...]",
                       description="COMMAND (default: make course) runs in the course folder on "
                                   "the host, e.g. `-- make course QUICK=1 NOTEBOOK=05` or "
                                   "`-- make test`; its exit status becomes this tool's.")
    p.add_argument("host", metavar="HOST")
    p.add_argument("--fetch", action="store_true", help="fetch the results when the job ends")
    p.add_argument("--into", metavar="DIR", help="with --fetch: where the new folder goes")
    p.add_argument("--all", action="store_true",
                   help="show every line of the log (cell outputs too), not only progress")
    p.add_argument("--project", metavar="DIR", help="course checkout to copy (default: this one)")

    p = sub.add_parser("logs", parents=[ssh], help="the job's log; --follow it to its end")
    p.add_argument("host", metavar="HOST")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep following until the job ends; exit with its exit status")
    p.add_argument("--all", action="store_true", help="show every line (cell outputs too)")

    p = sub.add_parser("fetch", parents=[ssh, env],
                       help="bring build/results.json, executed notebooks and site back")
    p.add_argument("host", metavar="HOST")
    p.add_argument("--into", metavar="DIR",
                   help="where the new folder HOST-YYYY-MM-DD goes (default: here)")

    p = sub.add_parser("status", parents=[ssh], help="tunnel, /api/status, GPU use, job")
    p.add_argument("host", metavar="HOST", nargs="?", help="default: every recorded session")
    p.add_argument("--url", action="store_true", help="also print the URL with its token")

    p = sub.add_parser("stop", parents=[ssh],
                       help="stop the job, stop JupyterLab and close the tunnel")
    p.add_argument("host", metavar="HOST", nargs="?", help="default: every recorded session")

    p = sub.add_parser("gpu", parents=[ssh, env], help="nvidia-smi and TensorFlow's GPU list")
    p.add_argument("host", metavar="HOST")
    return parser


def settings_from(args: argparse.Namespace) -> dict:
    """Merge flags, the config file and defaults (see dlremote.config)."""
    flags = {name: getattr(args, name, None) for name in config.DEFAULTS}
    path = config.config_path(args.config)
    from_file = config.read_config(path, args.host, required=bool(args.config))
    return config.merge(flags, from_file)


def run(args: argparse.Namespace) -> int:
    if args.verbose:
        os.environ["DLREMOTE_VERBOSE"] = "1"
    s = settings_from(args)
    if args.command == "setup":
        return provision.setup(args.host, s, install=not args.no_install,
                               copy=not args.no_copy, gpu_check=not args.no_gpu_check,
                               project=args.project)
    if args.command == "start":
        return session.start(args.host, s, open_browser=s["browser"],
                             idle_minutes=s["stop_after_idle"])
    if args.command == "run":
        return job.run(args.host, s, args.remote_command, fetch_after=args.fetch, into=args.into,
                       idle_minutes=s["stop_after_idle"], show_all=args.all,
                       project=args.project)
    if args.command == "logs":
        return job.logs(args.host, s, wait=args.follow, show_all=args.all)
    if args.command == "fetch":
        job.fetch(args.host, s, into=args.into)
        return 0
    if args.command == "status":
        return session.status(args.host, s, show_url=args.url)
    if args.command == "stop":
        return session.stop(args.host, s)
    return gpucheck.gpu(args.host, s)


def split_command(argv: list) -> tuple:
    """(the tool's arguments, the remote command after ``--``); ``--`` is only for `run`."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1:]


def main(argv: list | None = None) -> int:
    own, remote_command = split_command(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser()
    args = parser.parse_args(own)
    if remote_command and args.command != "run":
        parser.error(f"only `run` takes a command after --, not `{args.command}`")
    args.remote_command = remote_command
    try:
        return run(args)
    except job.JobFailed as exc:
        _fail(str(exc))
        return exc.status
    except job.ConnectionLost as exc:
        _fail(str(exc))
        return 255
    except RemoteError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except subprocess.TimeoutExpired as exc:
        command = exc.cmd[0] if isinstance(exc.cmd, (list, tuple)) else exc.cmd
        return _fail(f"{command} did not answer within {exc.timeout:g} s; try again")
    except OSError as exc:  # a local file or folder: name it and why
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}")
    except Exception as exc:  # a bug: still one line, the traceback on request
        if os.environ.get("DLREMOTE_DEBUG"):
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (this is a bug in {PROG}; "
                     "rerun with DLREMOTE_DEBUG=1 for the traceback and report it)")


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
