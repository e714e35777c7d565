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
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection (as with ssh)")
    group.add_argument("-i", dest="identity", metavar="KEY", help="private key file (chmod 600)")
    group.add_argument("-l", dest="user", metavar="USER", help="remote user name")
    group.add_argument("-p", dest="port", type=port, metavar="PORT", help="ssh port of the host")
    group.add_argument("-F", dest="ssh_config", metavar="FILE", help="ssh config file to use")
    group.add_argument("--config", metavar="FILE", help="this tool's config file (INI)")
    group.add_argument("--connect-timeout", type=seconds, metavar="S", help="ssh connect timeout")
    group.add_argument("-v", "--verbose", action="store_true", help="print the ssh commands run")
    return parent


def _env_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("environment on the host")
    group.add_argument("--venv", metavar="PATH",
                       help="the course's virtual environment on the host (default: what setup "
                            "recorded, else REMOTE_DIR/.venv)")
    group.add_argument("--remote-dir", metavar="PATH",
                       help="the course's folder on the host (default ~/dlcourse)")
    return parent


def _idle_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--stop-after-idle", type=minutes, metavar="MINUTES",
                        help="shut the host down (sudo shutdown -h now) once no job runs, no "
                             "kernel is busy and no browser is connected for MINUTES (0: off; "
                             "default off)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description="JupyterLab on a cloud GPU through an SSH tunnel.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    connection, environment, idle = _ssh_parent(), _env_parent(), _idle_parent()

    command = commands.add_parser("setup", parents=[connection, environment],
                                  help="copy the course, build its venv")
    command.add_argument("host", metavar="HOST")
    command.add_argument("--no-install", action="store_true",
                         help="use the environment at --venv as it is (nothing is installed)")
    command.add_argument("--no-copy", action="store_true", help="do not copy the course files")
    command.add_argument("--no-gpu-check", action="store_true", help="skip the final GPU check")
    command.add_argument("--remote-python", metavar="CMD",
                         help="Python used to create the venv (default: the first of "
                              "python3.13, python3.12, python3.11 and python3 that the course "
                              "accepts)")
    command.add_argument("--project", metavar="DIR",
                         help="course checkout to copy (default: this one)")

    command = commands.add_parser("start", parents=[connection, environment, idle],
                                  help="start JupyterLab and the tunnel")
    command.add_argument("host", metavar="HOST")
    command.add_argument("--local-port", type=port, metavar="N",
                         help="port on this computer (default: a free one)")
    command.add_argument("--remote-port", type=port, metavar="N",
                         help="JupyterLab's port on the host (default 8888; retries off, so a "
                              "taken port is an error)")
    command.add_argument("--timeout", type=seconds, metavar="S",
                         help="seconds to wait for JupyterLab (default 90)")
    command.add_argument("--no-browser", dest="browser", action="store_false", default=None,
                         help="print the URL but do not open a browser")

    command = commands.add_parser(
        "run", parents=[connection, environment, idle],
        help="sync the course, run COMMAND detached on the host, follow it",
        usage="%(prog)s HOST [options] [-- COMMAND...]",
        description="COMMAND (default: make course) runs in the course folder on the host, "
                    "e.g. `-- make course QUICK=1 NOTEBOOK=05` or `-- make test`; its exit "
                    "status becomes this tool's.")
    command.add_argument("host", metavar="HOST")
    command.add_argument("--fetch", action="store_true",
                         help="fetch the results when the job ends")
    command.add_argument("--into", metavar="DIR", help="with --fetch: where the new folder goes")
    command.add_argument("--all", action="store_true",
                         help="show every line of the log (cell outputs too), not only progress")
    command.add_argument("--project", metavar="DIR",
                         help="course checkout to copy (default: this one)")

    command = commands.add_parser("logs", parents=[connection],
                                  help="the job's log; --follow it to its end")
    command.add_argument("host", metavar="HOST")
    command.add_argument("-f", "--follow", action="store_true",
                         help="keep following until the job ends; exit with its exit status")
    command.add_argument("--all", action="store_true", help="show every line (cell outputs too)")

    command = commands.add_parser("fetch", parents=[connection, environment],
                                  help="bring build/results.json, executed notebooks and site "
                                       "back")
    command.add_argument("host", metavar="HOST")
    command.add_argument("--into", metavar="DIR",
                         help="where the new folder HOST-YYYY-MM-DD goes (default: here)")

    command = commands.add_parser("status", parents=[connection],
                                  help="tunnel, /api/status, GPU use, job")
    command.add_argument("host", metavar="HOST", nargs="?",
                         help="default: every recorded session")
    command.add_argument("--url", action="store_true", help="also print the URL with its token")

    command = commands.add_parser("stop", parents=[connection],
                                  help="stop the job, stop JupyterLab and close the tunnel")
    command.add_argument("host", metavar="HOST", nargs="?",
                         help="default: every recorded session")

    command = commands.add_parser("gpu", parents=[connection, environment],
                                  help="nvidia-smi and TensorFlow's GPU list")
    command.add_argument("host", metavar="HOST")
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
    settings = settings_from(args)
    if args.command == "setup":
        return provision.setup(args.host, settings, install=not args.no_install,
                               copy=not args.no_copy, gpu_check=not args.no_gpu_check,
                               project=args.project)
    if args.command == "start":
        return session.start(args.host, settings, open_browser=settings["browser"],
                             idle_minutes=settings["stop_after_idle"])
    if args.command == "run":
        return job.run(args.host, settings, args.remote_command, fetch_after=args.fetch,
                       into=args.into, idle_minutes=settings["stop_after_idle"],
                       show_all=args.all, project=args.project)
    if args.command == "logs":
        return job.logs(args.host, settings, wait=args.follow, show_all=args.all)
    if args.command == "fetch":
        job.fetch(args.host, settings, into=args.into)
        return 0
    if args.command == "status":
        return session.status(args.host, settings, show_url=args.url)
    if args.command == "stop":
        return session.stop(args.host, settings)
    return gpucheck.gpu(args.host, settings)


def split_command(argv: list) -> tuple:
    """(the tool's arguments, the remote command after ``--``); ``--`` is only for `run`."""
    if "--" not in argv:
        return argv, []
    separator = argv.index("--")
    return argv[:separator], argv[separator + 1:]


def main(argv: list | None = None) -> int:
    tool_args, remote_command = split_command(sys.argv[1:] if argv is None else list(argv))
    parser = build_parser()
    args = parser.parse_args(tool_args)
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
