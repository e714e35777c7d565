"""Unit tests of remote/ (no sshd): parsing, ssh commands, config, ports, state, keys, scripts."""

from __future__ import annotations

import ast
import http.server
import itertools
import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from io import BytesIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from dlremote import (
    RemoteError,
    cli,
    config,
    diagnose,
    envspec,
    gpucheck,
    hostside,
    job,
    keys,
    ports,
    provision,
    scripts,
    session,
    sshcmd,
    state,
)

from .remote_support import REMOTE, ROOT

needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")


@pytest.fixture(autouse=True)
def _private_state(tmp_path, monkeypatch):
    """Commands run in-process here must not touch the real ~/.local/state or config."""
    monkeypatch.setenv("DLREMOTE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DLREMOTE_CONFIG", str(tmp_path / "no-config.ini"))


# ----------------------------------------------------------------------------- stdlib only
def test_the_tool_imports_only_the_standard_library():
    stdlib = set(sys.stdlib_module_names) | {"dlremote"}
    for path in sorted((REMOTE / "dlremote").glob("*.py")) + [REMOTE / "dlcourse-remote"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in stdlib, f"{path.name} imports {name}"


def test_never_binds_all_interfaces():
    for path in (REMOTE / "dlremote").glob("*.py"):
        assert "0.0.0.0" not in path.read_text(), path


# ----------------------------------------------------------------------------- arguments
def parse(*argv):
    return cli.build_parser().parse_args(list(argv))


def test_start_arguments_as_ssh_users_expect():
    args = parse("start", "ubuntu@203.0.113.7", "-i", "~/k.pem", "-p", "2222",
                 "--local-port", "9000", "--no-browser", "--timeout", "30")
    assert (args.command, args.host, args.identity, args.port) == (
        "start", "ubuntu@203.0.113.7", "~/k.pem", 2222)
    assert args.local_port == 9000 and args.browser is False and args.timeout == 30


def test_status_and_stop_take_an_optional_host():
    assert parse("status").host is None and parse("stop").host is None
    assert parse("status", "gpubox", "--url").url is True


@pytest.mark.parametrize("argv", [[], ["launch", "h"], ["start"], ["start", "h", "-p", "x"]])
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2


def test_flags_override_config_file_override_defaults(tmp_path):
    ini = tmp_path / "c.ini"
    ini.write_text("[defaults]\nremote_port = 9999\ntimeout = 12\n\n"
                   "[gpubox]\nremote_port = 8890\nbrowser = no\nidentity = ~/gpu.pem\n")
    args = parse("start", "gpubox", "--config", str(ini), "--timeout", "5")
    settings = cli.settings_from(args)
    assert settings["remote_port"] == 8890  # host section over [defaults]
    assert settings["timeout"] == 5  # flag over file
    assert settings["browser"] is False and settings["identity"] == "~/gpu.pem"
    assert settings["connect_timeout"] == config.DEFAULTS["connect_timeout"]
    other = cli.settings_from(parse("start", "otherbox", "--config", str(ini)))
    assert other["remote_port"] == 9999 and other["browser"] is True


def test_main_prints_one_line_error_and_exits_1(capsys):
    assert cli.main(["start", "bad host", "--no-browser"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dlcourse-remote: error: not a host name")


# ----------------------------------------------------------------------------- config file
def test_config_file_errors_name_the_problem(tmp_path):
    ini = tmp_path / "c.ini"
    ini.write_text("[gpubox]\nidentiy = k\n")
    with pytest.raises(RemoteError, match="unknown setting 'identiy'"):
        config.read_config(ini, "gpubox")
    ini.write_text("[gpubox]\nremote_port = 99999\n")
    with pytest.raises(RemoteError, match="remote_port = '99999' is invalid"):
        config.read_config(ini, "gpubox")
    ini.write_text("remote_port = 1\n")
    with pytest.raises(RemoteError, match="not valid INI"):
        config.read_config(ini, "gpubox")
    assert config.read_config(tmp_path / "missing.ini", "gpubox") == {}
    with pytest.raises(RemoteError, match="not found"):
        config.read_config(tmp_path / "missing.ini", "gpubox", required=True)


def test_config_path_precedence(tmp_path):
    env = {"HOME": "/home/u"}
    assert config.config_path(env=env) == Path("/home/u/.config/dlcourse-remote/config.ini")
    env["XDG_CONFIG_HOME"] = "/x"
    assert config.config_path(env=env) == Path("/x/dlcourse-remote/config.ini")
    env["DLREMOTE_CONFIG"] = "/y.ini"
    assert config.config_path(env=env) == Path("/y.ini")
    assert config.config_path("/z.ini", env=env) == Path("/z.ini")


# ----------------------------------------------------------------------------- ssh commands
def target(**fields):
    base = dict(destination="gpubox", options=["-F", "/cfg"] + sshcmd.safety_options({}),
                hostname="10.0.0.5", user="ubuntu", port=22)
    return sshcmd.Target(**dict(base, **fields))


def test_base_options_match_ssh_flags():
    options = sshcmd.base_options(identity="/k.pem", user="bob", port=2200, ssh_config="/cfg")
    assert options == ["-F", "/cfg", "-i", "/k.pem", "-o", "IdentitiesOnly=yes", "-l", "bob",
                    "-p", "2200"]
    assert sshcmd.base_options() == []


@pytest.mark.parametrize("config_value, expected", [
    ("ask", "accept-new"), ("false", "accept-new"), ("accept-new", "accept-new"), ("true", None)])
def test_host_key_checking_is_never_disabled(config_value, expected):
    options = sshcmd.safety_options({"stricthostkeychecking": [config_value]})
    joined = " ".join(options)
    assert "StrictHostKeyChecking=no" not in joined
    if expected:
        assert f"StrictHostKeyChecking={expected}" in joined
    else:  # the user's stricter "yes" is kept by not overriding it
        assert "StrictHostKeyChecking" not in joined
    for required in ("ForwardAgent=no", "ForwardX11=no", "BatchMode=yes", "ServerAliveInterval="):
        assert required in joined
    assert "-a" in options and "-x" in options


def test_master_command_forwards_loopback_to_loopback():
    argv = sshcmd.master_command(target(), "/s/cm", 51234, 8888)
    assert argv[argv.index("-L") + 1] == "127.0.0.1:51234:127.0.0.1:8888"
    assert argv[argv.index("-S") + 1] == "/s/cm"
    for flag in ("-M", "-f", "-N", "ExitOnForwardFailure=yes", "ControlPersist=no"):
        assert flag in argv
    assert argv[-1] == "gpubox" and "0.0.0.0" not in " ".join(argv)


def test_commands_reuse_the_control_socket_and_never_forward():
    with_socket = sshcmd.command(target(), ["sh", "-s"], control="/s/cm")
    assert with_socket[with_socket.index("-S") + 1] == "/s/cm"
    assert with_socket[-3:] == ["gpubox", "sh", "-s"]
    alone = sshcmd.command(target(), ["uname"])
    assert "ControlPath=none" in alone and "-S" not in alone
    for argv in (with_socket, alone):
        assert "ClearAllForwardings=yes" in argv and "-L" not in argv


@needs_ssh
def test_resolve_follows_an_ssh_config_alias(tmp_path):
    key = tmp_path / "gpu.pem"
    key.write_text("not really a key")
    key.chmod(0o600)
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host gpubox\n  HostName 198.51.100.9\n  User ubuntu\n  Port 2201\n"
                   f"  IdentityFile {key}\n  IdentityFile {tmp_path}/absent.pem\n"
                   "  StrictHostKeyChecking no\n")
    resolved = sshcmd.resolve("gpubox", sshcmd.base_options(ssh_config=str(ssh_config)))
    assert (resolved.hostname, resolved.user, resolved.port) == ("198.51.100.9", "ubuntu", 2201)
    assert resolved.identities == [str(key)]  # only keys that exist
    # "no" in the config is overridden
    assert "StrictHostKeyChecking=accept-new" in resolved.options
    assert resolved.label == "gpubox (ubuntu@198.51.100.9:2201)"
    plain = sshcmd.resolve("alice@example.org",
                           sshcmd.base_options(ssh_config=str(ssh_config), port=7))
    assert (plain.hostname, plain.user, plain.port) == ("example.org", "alice", 7)


@pytest.mark.parametrize("host", ["", "-oProxyCommand=x", "two words"])
def test_resolve_rejects_things_that_are_not_hosts(host):
    with pytest.raises(RemoteError, match="not a host name"):
        sshcmd.resolve(host, [])


@pytest.mark.parametrize("stderr, needle", [
    ("root@1.2.3.4: Permission denied (publickey).", "refused the login"),
    ("ssh: connect to host 1.2.3.4 port 22: Connection refused", "cannot reach"),
    ("ssh: connect to host 1.2.3.4 port 22: Connection timed out", "port 22 open to your IP"),
    ("ssh: Could not resolve hostname nope: Name or service not known", "cannot resolve"),
    ("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@", "ssh-keygen -R 10.0.0.5"),
    ("bind [127.0.0.1]:9000: Address already in use", "local port 9000 is already in use"),
    ("Warning: Permanently added x\nsomething odd", "failed: something odd"),
])
def test_ssh_failures_become_one_actionable_line(stderr, needle):
    message = diagnose.explain_failure(stderr, target(), local_port=9000)
    assert needle in message and "\n" not in message


# ----------------------------------------------------------------------------- keys
def test_key_permission_check(tmp_path):
    key = tmp_path / "id key"
    key.write_text("k")
    key.chmod(0o600)
    keys.check_key_permissions(str(key))
    key.chmod(0o400)
    keys.check_key_permissions(str(key))
    for loose in (0o644, 0o640, 0o604, 0o660):
        key.chmod(loose)
        with pytest.raises(RemoteError) as exc:
            keys.check_key_permissions(str(key))
        assert f"chmod 600 '{key}'" in str(exc.value) and f"{loose:03o}" in str(exc.value)
    with pytest.raises(RemoteError, match="not found"):
        keys.check_key_permissions(str(tmp_path / "missing"))


def test_the_suggested_chmod_really_fixes_the_key(tmp_path):
    key = tmp_path / "k.pem"
    key.write_text("k")
    key.chmod(0o664)
    with pytest.raises(RemoteError) as exc:
        keys.check_keys(target(identities=[str(key)]), None)
    fix = str(exc.value).split("fix it with: ")[1]
    subprocess.run(fix, shell=True, check=True)
    keys.check_keys(target(identities=[str(key)]), None)


@needs_ssh
def test_start_refuses_a_loose_key_before_connecting(tmp_path, capsys):
    key = tmp_path / "k.pem"
    key.write_text("k")
    key.chmod(0o644)
    # 192.0.2.1 is TEST-NET: the check must fail before any connection is tried
    assert cli.main(["start", "ubuntu@192.0.2.1", "-i", str(key), "--no-browser"]) == 1
    assert f"chmod 600 {key}" in capsys.readouterr().err


# ----------------------------------------------------------------------------- ports
def test_free_port_is_bindable_on_loopback():
    port = ports.free_port()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))
    assert ports.choose_local_port(None) > 0


def test_a_taken_local_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert ports.is_listening(port)
        with pytest.raises(RemoteError, match=f"local port {port} is already in use"):
            ports.choose_local_port(port)
    assert ports.choose_local_port(port) == port  # free again once closed
    for bad in (0, 70000, "8888", True):
        with pytest.raises(RemoteError, match="1..65535"):
            ports.ensure_free(bad)


# ----------------------------------------------------------------------------- state
def session_record(destination="gpubox", **fields):
    """The smallest record `start` saves (before the server is launched)."""
    return dict({"target": {"dest": destination, "options": []}, "local_port": 5000,
                 "remote_port": 8888, "token": "secret"}, **fields)


def test_state_round_trip_is_private(tmp_path):
    directory = tmp_path / "st"
    record = session_record("ubuntu@h")
    path = state.save(directory, "ubuntu@h", record)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert state.load(directory, "ubuntu@h") == dict(record, host="ubuntu@h")
    state.save(directory, "gpubox", session_record())
    assert state.hosts(directory) == ["gpubox", "ubuntu@h"]
    assert state.remove(directory, "ubuntu@h") and not state.remove(directory, "ubuntu@h")
    assert state.load(directory, "ubuntu@h") is None
    assert not list(directory.glob(".tmp-*"))


def test_a_target_is_recorded_under_the_state_files_keys():
    """A state file names the destination ``dest`` (as it always has): a session recorded
    before Target.destination had that name reads back, and is written the same way."""
    recorded = {"dest": "gpubox", "options": ["-p", "2222"], "hostname": "10.0.0.5",
                "user": "ubuntu", "port": 2222, "identities": ["/k.pem"]}
    restored = sshcmd.Target.from_dict(recorded)
    assert (restored.destination, restored.port) == ("gpubox", 2222)
    assert restored.to_dict() == recorded


def test_state_names_do_not_collide(tmp_path):
    assert state.state_path(tmp_path, "a/b") != state.state_path(tmp_path, "a_b")


def test_damaged_state_is_reported(tmp_path):
    state.state_path(tmp_path, "h").write_text("{not json")
    with pytest.raises(RemoteError, match="damaged"):
        state.load(tmp_path, "h")
    state.state_path(tmp_path, "h").write_text('{"host": "other"}')
    with pytest.raises(RemoteError, match="does not belong"):
        state.load(tmp_path, "h")


def test_state_dir_precedence():
    assert state.state_dir({"HOME": "/h"}) == Path("/h/.local/state/dlcourse-remote")
    assert state.state_dir({"HOME": "/h", "XDG_STATE_HOME": "/x"}) == Path("/x/dlcourse-remote")
    assert state.state_dir({"DLREMOTE_STATE_DIR": "/d", "XDG_STATE_HOME": "/x"}) == Path("/d")


def test_control_socket_path_fits_sun_path(tmp_path):
    deep = tmp_path / ("d" * 90)
    path = state.new_control_path(deep, "ubuntu@gpu.example.org")
    assert len(path) <= state.MAX_SOCKET_PATH
    assert state.new_control_path(deep, "h") != state.new_control_path(deep, "h")


# ----------------------------------------------------------------------------- scripts
def run_sh(script: str, home: Path) -> subprocess.CompletedProcess:
    env = {"HOME": str(home), "PATH": os.environ["PATH"]}
    return subprocess.run(["sh", "-s"], input=script, env=env, capture_output=True, text=True,
                          timeout=30)


def test_paths_are_quoted_and_tilde_expanded_on_the_host(tmp_path):
    evil = "/tmp/x\"; touch pwned; echo \"$(id)"
    script = scripts.locate(evil, "~/my course") + 'echo "$VENV|$DIR"\n'
    out = run_sh(script, tmp_path)
    assert out.stdout.strip() == f"{evil}|{tmp_path}/my course"
    assert not (tmp_path / "pwned").exists()
    assert scripts.path_expr("~") == '"$HOME"'


def test_locate_defaults_to_what_setup_recorded(tmp_path):
    show = 'echo "$VENV|$DIR"\n'
    assert run_sh(scripts.locate(None, None) + show, tmp_path).stdout.strip() == (
        f"{tmp_path}/dlcourse/.venv|{tmp_path}/dlcourse")
    record = scripts.record_env(scripts.path_expr("/opt/my env"), scripts.path_expr("/srv/c"))
    assert run_sh(scripts.locate(None, None) + record, tmp_path).returncode == 0
    after = run_sh(scripts.locate(None, None) + show, tmp_path).stdout.strip()
    assert after == "/opt/my env|/srv/c"
    assert run_sh(scripts.locate("/v", None) + show, tmp_path).stdout.strip() == "/v|/srv/c"


def test_start_script_runs_jupyter_detached_on_loopback(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    fake = venv / "bin" / "jupyter"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$HOME/args"\n'
                    'echo "$JUPYTER_TOKEN" > "$HOME/token"\npwd > "$HOME/cwd"\n')
    fake.chmod(0o755)
    (tmp_path / "course").mkdir()
    script = scripts.start(str(venv), "~/course", 8765, "tok'en")
    assert "tok'en" not in script.split("JUPYTER_TOKEN=")[0]  # token only in the environment
    out = run_sh(script, tmp_path)
    assert out.returncode == 0, out.stderr
    found = scripts.markers(out.stdout)
    assert int(found["PID"][0]) > 0 and found["LOG"][0].endswith("jupyter-8765.log")
    for _ in range(100):  # the fake runs in the background
        if (tmp_path / "cwd").exists() and (tmp_path / "args").exists():
            break
        __import__("time").sleep(0.05)
    args = (tmp_path / "args").read_text().split()
    assert args[:2] == ["lab", "--no-browser"]
    for flag in ("--ServerApp.ip=127.0.0.1", "--ServerApp.port=8765",
                 "--ServerApp.port_retries=0", f"--ServerApp.root_dir={tmp_path}/course"):
        assert flag in args
    assert (tmp_path / "token").read_text().strip() == "tok'en"
    assert (tmp_path / "cwd").read_text().strip() == f"{tmp_path}/course"


def test_start_script_without_jupyter_says_so(tmp_path):
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    out = run_sh(scripts.start(str(tmp_path / "venv"), None, 8888, "t"), tmp_path)
    assert out.returncode == scripts.NO_JUPYTER
    assert scripts.markers(out.stdout)["NOJUPYTER"] == [f"{tmp_path}/venv/bin/jupyter"]


@pytest.mark.parametrize("script", [lambda: scripts.start(None, None, 8888, "t"),
                                    lambda: scripts.reuse_venv("~/dlcourse/.venv", None)])
def test_a_missing_environment_is_told_apart_from_one_without_jupyter(tmp_path, script):
    out = run_sh(script(), tmp_path)  # no ~/dlcourse/.venv on this "host"
    assert out.returncode == scripts.NO_ENV
    assert scripts.markers(out.stdout)["NOENV"] == [f"{tmp_path}/dlcourse/.venv"]


def test_stop_script_ends_the_process_group(tmp_path):
    marker = "--ServerApp.port=45678"
    proc = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60; :", "sh", marker],
                            start_new_session=True)
    try:
        out = run_sh(scripts.stop(str(tmp_path), None, 45678, proc.pid, graceful=False), tmp_path)
        assert "DLREMOTE_STOPPED" in out.stdout, out.stdout + out.stderr
        assert proc.wait(5) is not None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)


@pytest.mark.parametrize("argv", [["sleep", "30"],  # a reused pid must not be killed
                                  ["sh", "-c", "sleep 30", "sh", "--ServerApp.port=456790"]])
def test_stop_script_leaves_other_processes_alone(tmp_path, argv):
    other = subprocess.Popen(argv, start_new_session=True)
    try:
        out = run_sh(scripts.stop(str(tmp_path), None, 45679, other.pid, graceful=False),
                     tmp_path)
        assert "DLREMOTE_STOPPED" in out.stdout and other.poll() is None
    finally:
        os.killpg(other.pid, 9)
        other.wait()


# ----------------------------------------------------------------------------- environment spec
def test_requirements_use_the_cuda_build_on_linux_only():
    dependencies, requires = envspec.read_spec(ROOT / "pyproject.toml")
    pinned = next(dependency for dependency in dependencies
                  if dependency.startswith("tensorflow=="))
    linux = envspec.requirements(dependencies, linux=True)
    assert pinned.replace("tensorflow", "tensorflow[and-cuda]") in linux
    assert pinned in envspec.requirements(dependencies, linux=False)
    assert len(linux) == len(dependencies) and all("==" in line for line in linux)
    assert envspec.requirements(["tensorflow[and-cuda]>=2"], linux=True) == [
        "tensorflow[and-cuda]>=2"]


def test_spec_without_tomllib_reads_the_same():
    text = (ROOT / "pyproject.toml").read_text()
    assert envspec.parse_spec_simply(text) == envspec.read_spec(ROOT / "pyproject.toml")


@pytest.mark.parametrize("spec, ok", [(">=3.8", True), (">=3.99", False),
                                      (f"<{sys.version_info[0]}.{sys.version_info[1]}", False),
                                      ("", True)])
def test_version_check_code(spec, ok):
    code = envspec.version_check(spec)
    assert (subprocess.run([sys.executable, "-c", code]).returncode == 0) == ok


@pytest.mark.slow  # half a second or more
def test_course_archive_holds_what_pip_needs(tmp_path):
    data = envspec.course_archive(ROOT, ["numpy==1"])
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        names = tar.getnames()
        assert tar.extractfile(envspec.REQUIREMENTS).read() == b"numpy==1\n"
    assert {"pyproject.toml", "README.md", "lib/dlcourse/__init__.py"} <= set(names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


# ----------------------------------------------------------------------------- output parsing
def test_markers():
    text = "hello\nDLREMOTE_PID 42\nDLREMOTE_DEAD\nDLREMOTE_LOGLINE a b\nDLREMOTE_LOGLINE c\n"
    assert scripts.markers(text) == {"PID": ["42"], "DEAD": [""], "LOGLINE": ["a b", "c"]}


# ----------------------------------------------------------------------------- GPU check
@pytest.fixture
def host_here(tmp_path, monkeypatch):
    """Run the "remote" scripts right here with sh (HOME=tmp, PATH=tmp/bin + system)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def run_script(target, script, control=None, timeout=120, what=""):
        env = {"HOME": str(tmp_path), "PATH": f"{bin_dir}:/usr/bin:/bin"}
        return subprocess.run(["sh", "-s"], input=script, env=env, capture_output=True,
                              text=True, timeout=timeout)

    monkeypatch.setattr(sshcmd, "run_script", run_script)
    return tmp_path


def executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(0o755)


T4_SMI = "echo '| Tesla T4 |'\n"


def gpu_check(host: Path, nvidia_smi: str | None = None, python: str | None = None):
    """gpu_report against shims: ``nvidia_smi`` and ``python`` are sh bodies (None: absent)."""
    if nvidia_smi is not None:
        executable(host / "bin" / "nvidia-smi", nvidia_smi)
    if python is not None:
        executable(host / "venv" / "bin" / "python", python)
    lines = []
    problem = gpucheck.gpu_report(target(), str(host / "venv"), None, out=lines.append)
    return problem, lines


def test_gpu_check_without_driver(host_here):
    problem, _ = gpu_check(host_here)
    assert "no NVIDIA driver" in problem and "nvidia-smi not found" in problem


def test_gpu_check_all_good(host_here):
    problem, lines = gpu_check(host_here, T4_SMI,
                               "echo 'I0000 noisy absl line'\necho 'DLREMOTE_TF 2.21.0 1'\n"
                               "echo 'DLREMOTE_TFGPU /physical_device:GPU:0 Tesla T4'\n")
    assert problem is None
    assert lines == ["| Tesla T4 |", "TensorFlow 2.21.0 sees 1 GPU(s): Tesla T4"]


def test_gpu_check_shows_why_tensorflow_failed(host_here):
    problem, lines = gpu_check(host_here, T4_SMI,
                               "echo 'Traceback (most recent call last):' >&2\n"
                               "echo \"ModuleNotFoundError: No module named 'tensorflow'\" >&2\n"
                               "exit 1\n")
    assert problem.endswith("ModuleNotFoundError: No module named 'tensorflow'")
    assert "Traceback (most recent call last):" in lines


def test_gpu_check_without_the_course_environment(host_here):
    problem, _ = gpu_check(host_here, T4_SMI)
    assert "no course environment" in problem and "setup" in problem


def test_gpu_check_driver_not_loaded(host_here):
    problem, _ = gpu_check(host_here, "echo 'NVIDIA-SMI has failed'\nexit 9\n")
    assert "driver is not loaded" in problem


# ----------------------------------------------------------------------------- issue 11, part 5
def one_line(capsys) -> str:
    """The single stderr line of a failed command (and nothing else on stderr)."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("dlcourse-remote: error: "), lines[0]
    return lines[0]


def test_the_browser_never_sees_the_token_on_its_command_line(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(session.webbrowser, "open",
                        lambda url, *args, **kwargs: opened.append(url) or 1)
    address = "http://127.0.0.1:5000/lab?token=0123secret&x=<y>"
    page = session.open_in_browser(tmp_path / "st", "gpu box", address)
    assert len(opened) == 1 and "0123secret" not in opened[0]
    assert opened[0] == page.as_uri() and page.parent == tmp_path / "st"
    assert stat.S_IMODE(page.stat().st_mode) == 0o600 and page.stat().st_uid == os.getuid()
    text = page.read_text()
    assert 'content="0;url=http://127.0.0.1:5000/lab?token=0123secret&amp;x=&lt;y&gt;"' in text
    state.save(tmp_path / "st", "gpu box", session_record("gpu box"))
    assert state.remove(tmp_path / "st", "gpu box") and not page.exists()  # stop deletes it


def test_no_browser_found_is_not_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(session.webbrowser, "open", lambda url, *args, **kwargs: False)
    assert session.open_in_browser(tmp_path, "h", "http://127.0.0.1:1/lab?token=t") is None


@pytest.fixture
def shared_tmp(tmp_path, monkeypatch):
    """A stand-in for /tmp (sticky, world-writable); returns where dlremote-<uid> goes."""
    shared = tmp_path / "shared_tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    return shared / f"dlremote-{os.getuid()}"


def deep_state_dir(tmp_path) -> Path:
    """A state folder so deep that the control socket must go to the temp folder."""
    return tmp_path / ("d" * 90)


def test_the_temp_folder_is_created_private(tmp_path, shared_tmp):
    path = state.new_control_path(deep_state_dir(tmp_path), "h")
    assert Path(path).parent == shared_tmp
    assert stat.S_IMODE(shared_tmp.stat().st_mode) == 0o700
    shared_tmp.chmod(0o755)  # ours and only readable by others: tightened, not refused
    state.new_control_path(deep_state_dir(tmp_path), "h")
    assert stat.S_IMODE(shared_tmp.stat().st_mode) == 0o700


def plant(kind: str, folder: Path, elsewhere: Path) -> None:
    if kind == "symlink":
        elsewhere.mkdir(mode=0o700)
        folder.symlink_to(elsewhere)
    elif kind == "file":
        folder.write_text("")
    else:
        folder.mkdir()
        folder.chmod({"group-writable": 0o770, "world-writable": 0o777}.get(kind, 0o700))
        if kind == "other-owner":
            if os.geteuid() != 0:
                pytest.skip("giving a folder to another user needs root")
            os.chown(folder, 65534, 65534)


PLANTED = {"symlink": "symbolic link", "file": "not a folder",
           "other-owner": "uid 65534; mode 700): it belongs to another user",
           "group-writable": "mode 770", "world-writable": "mode 777"}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_a_planted_temp_folder_is_refused_and_left_alone(tmp_path, shared_tmp, kind):
    plant(kind, shared_tmp, tmp_path / "elsewhere")
    before = os.lstat(shared_tmp)
    with pytest.raises(RemoteError) as exc:
        state.new_control_path(deep_state_dir(tmp_path), "h")
    message = str(exc.value)
    assert f"refusing to use the folder {shared_tmp}" in message and PLANTED[kind] in message
    assert "TMPDIR" in message and "\n" not in message
    after = os.lstat(shared_tmp)
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)
    if kind == "symlink":
        assert list((tmp_path / "elsewhere").iterdir()) == []
        assert stat.S_IMODE((tmp_path / "elsewhere").stat().st_mode) == 0o700


def test_the_trust_check_refuses_another_users_folder_and_file(tmp_path):
    path_stat = os.lstat(tempfile.gettempdir())
    why, fix = state.trust_problem(Path(tempfile.gettempdir()), path_stat,
                                   uid=path_stat.st_uid + 1)
    assert "another user" in why and "remove it" in fix
    record = state.save(tmp_path / "st", "h", session_record("h"))
    for path, folder in ((record.parent, True), (record, False)):
        assert state.check_trusted(path, folder=folder) is not None
        with pytest.raises(state.UntrustedPathError, match="belongs to another user"):
            state.check_trusted(path, folder=folder, uid=os.getuid() + 1)


@needs_ssh
def test_start_with_a_planted_temp_folder_is_one_line(tmp_path, shared_tmp, monkeypatch,
                                                      capsys):
    plant("symlink", shared_tmp, tmp_path / "elsewhere")
    monkeypatch.setenv("DLREMOTE_STATE_DIR", str(deep_state_dir(tmp_path)))
    closed = ports.free_port()  # nothing listens: were the folder used, ssh would fail instead
    argv = ["start", "ubuntu@127.0.0.1", "-p", str(closed), "--no-browser"]
    assert cli.main(argv) == 1
    assert "symbolic link" in one_line(capsys)


def test_a_shared_state_folder_is_refused(tmp_path):
    directory = tmp_path / "st"
    directory.mkdir(mode=0o777)
    directory.chmod(0o777)
    with pytest.raises(RemoteError, match="DLREMOTE_STATE_DIR"):
        state.save(directory, "h", session_record("h"))
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize("command", ["stop", "status"])
@pytest.mark.parametrize("content", ["{not json", "[]", '{"host": "gpubox"}', ""])
def test_damaged_state_without_host_is_reported(tmp_path, capsys, command, content):
    state_folder = tmp_path / "state"  # DLREMOTE_STATE_DIR (see _private_state)
    state.save(state_folder, "gpubox", session_record())
    bad = state.state_path(state_folder, "gpubox")
    bad.write_text(content)
    assert cli.main([command]) == 1
    line = one_line(capsys)
    assert f"state file {bad} " in line and f"rm {bad}" in line
    assert bad.exists()  # reported, not deleted behind the user's back


def test_stop_still_stops_the_good_sessions_next_to_a_damaged_one(tmp_path, capsys):
    state_folder = tmp_path / "state"
    state.save(state_folder, "good", session_record("good"))  # nothing started yet: nothing to end
    state.save(state_folder, "bad", session_record("bad"))
    state.state_path(state_folder, "bad").write_text("{")
    assert cli.main(["stop"]) == 1
    captured = capsys.readouterr()
    assert "good: JupyterLab stopped" in captured.out
    assert "is damaged" in captured.err and not state.state_path(state_folder, "good").exists()
    assert [path.name for path in state_folder.glob("*.json")] == [
        state.state_path(state_folder, "bad").name]


@pytest.mark.parametrize("flag", ["--timeout", "--connect-timeout"])
@pytest.mark.parametrize("value", ["0", "-1", "-0.5", "nan", "inf", "soon", "1e300", "86401"])
def test_timeout_must_be_positive(flag, value, capsys):
    with pytest.raises(SystemExit) as exc:
        parse("start", "h", f"{flag}={value}")
    assert exc.value.code == 2
    line = one_line(capsys)
    assert flag in line and ("positive number of seconds up to 86400" in line
                             or "not a number" in line)


def test_wrong_arguments_are_one_line(capsys):
    with pytest.raises(SystemExit):
        parse("start", "h", "--remote-port", "70000")
    assert "1..65535" in one_line(capsys)


def test_an_unexpected_error_is_one_line_too(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(session, "status", broken)
    assert cli.main(["status"]) == 1
    assert "ZeroDivisionError" in one_line(capsys)
    monkeypatch.setenv("DLREMOTE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["status"])


def test_a_local_file_error_names_the_file(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("DLREMOTE_STATE_DIR", str(blocker / "state"))
    closed = ports.free_port()
    assert cli.main(["start", "ubuntu@127.0.0.1", "-p", str(closed), "--no-browser"]) == 1
    line = one_line(capsys)
    assert f"cannot create the folder {blocker / 'state'}" in line and str(blocker) in line


# ----------------------------------------------------------------------------- issue 26, item 2
def planted_record(pwned: Path, **target) -> str:
    """A state file whose ssh options would run ``touch pwned`` (remote_pid: stop tries too)."""
    evil = {"dest": "gpubox", "options": ["-o", f"ProxyCommand=sh -c 'touch {pwned}'"]}
    record = session_record(host="gpubox", remote_pid=1, target=dict(evil, **target))
    return json.dumps(record)


COMMANDS = [["status"], ["stop"], ["status", "gpubox"], ["stop", "gpubox"]]


@needs_ssh  # on the old code ssh ran the planted ProxyCommand
@pytest.mark.parametrize("argv", COMMANDS)
@pytest.mark.parametrize("kind, shown", [("other-owner", "nobody, uid 65534; mode 777"),
                                         ("world-writable", "mode 777")])
def test_status_and_stop_refuse_a_planted_state_folder(tmp_path, monkeypatch, capsys, argv,
                                                       kind, shown):
    folder, pwned = tmp_path / "planted", tmp_path / "pwned"
    plant(kind, folder, tmp_path / "elsewhere")
    folder.chmod(0o777)
    state.state_path(folder, "gpubox").write_text(planted_record(pwned))
    monkeypatch.setenv("DLREMOTE_STATE_DIR", str(folder))
    assert cli.main(argv) == 1
    line = one_line(capsys)
    assert f"refusing to use the folder {folder} (owner " in line and shown in line
    fix = "remove it (as its owner, or root)" if kind == "other-owner" else f"chmod 700 {folder}"
    assert fix in line and "DLREMOTE_STATE_DIR" in line
    assert not pwned.exists() and state.state_path(folder, "gpubox").exists()


def plant_file(kind: str, path: Path, text: str) -> None:
    if kind == "symlink":
        elsewhere = path.parent.parent / "elsewhere.json"
        elsewhere.write_text(text)
        path.symlink_to(elsewhere)
        return
    path.write_text(text)
    path.chmod(0o666 if kind == "world-writable" else 0o600)
    if kind == "other-owner":
        if os.geteuid() != 0:
            pytest.skip("giving a file to another user needs root")
        os.chown(path, 65534, 65534)


@needs_ssh
@pytest.mark.parametrize("argv", COMMANDS)
@pytest.mark.parametrize("kind, why", [("other-owner", "belongs to another user"),
                                       ("world-writable", "group or others may write"),
                                       ("symlink", "symbolic link")])
def test_status_and_stop_refuse_a_planted_state_file(tmp_path, capsys, argv, kind, why):
    state_folder, pwned = tmp_path / "state", tmp_path / "pwned"  # DLREMOTE_STATE_DIR, ours
    path = state.state_path(state.private_dir(state_folder), "gpubox")
    plant_file(kind, path, planted_record(pwned))
    assert cli.main(argv) == 1
    line = one_line(capsys)
    assert f"refusing to use the state file {path} (owner " in line and why in line
    assert f"rm {path}" in line and not pwned.exists()


@needs_ssh
@pytest.mark.parametrize("argv", COMMANDS)
@pytest.mark.parametrize("target, why", [
    ({}, "ssh option -o 'ProxyCommand=sh -c"),
    ({"options": ["-oProxyCommand=sh -c 'touch {pwned}'"]}, "ssh option '-oProxyCommand="),
    ({"options": ["-o", "PermitLocalCommand=yes", "-o", "LocalCommand=touch {pwned}"]},
     "ssh option -o PermitLocalCommand=yes refused"),
    ({"options": ["-p", "22", "-o"]}, "ssh option -o refused"),
    ({"options": "-oProxyCommand=x"}, "must be a list"),
    ({"dest": "-oProxyCommand=sh -c 'touch {pwned}'", "options": []}, "not a host name"),
])
def test_recorded_ssh_options_are_checked_like_the_command_line(tmp_path, capsys, argv,
                                                                target, why):
    state_folder, pwned = tmp_path / "state", tmp_path / "pwned"  # ours and private: trusted
    target = json.loads(json.dumps(target).replace("{pwned}", str(pwned)))
    path = state.state_path(state.private_dir(state_folder), "gpubox")
    path.write_text(planted_record(pwned, **target))
    path.chmod(0o600)
    assert cli.main(argv) == 1
    line = one_line(capsys)
    assert f"state file {path} has an ssh target this tool would not use" in line
    assert why in line and f"rm {path}" in line and not pwned.exists()


def test_every_option_list_the_tool_builds_passes_the_check():
    for identity, user, port, ssh_config in itertools.product(
            (None, "~/k.pem"), (None, "bob"), (None, 2222), (None, "/my config")):
        for resolved in ({}, {"stricthostkeychecking": ["yes"]}):
            options = (sshcmd.base_options(identity, user, port, ssh_config)
                       + sshcmd.safety_options(resolved, config.MAX_SECONDS))
            assert sshcmd.check_options(options) is options


# ----------------------------------------------------------------------------- issue 26, item 19
@pytest.mark.parametrize("name, value", [("timeout", "inf"), ("connect_timeout", "inf"),
                                         ("connect_timeout", "1e300"), ("timeout", "nan")])
def test_config_file_timeouts_are_checked_like_the_flags(tmp_path, capsys, name, value):
    ini = tmp_path / "c.ini"
    ini.write_text(f"[defaults]\n{name} = {value}\n")
    with pytest.raises(RemoteError, match="positive number of seconds up to 86400"):
        config.read_config(ini, "h")
    assert cli.main(["start", "ubuntu@192.0.2.1", "--config", str(ini), "--no-browser"]) == 1
    message = one_line(capsys)
    assert f"[defaults] {name} = {value!r} is invalid" in message
    assert "up to 86400 (one day)" in message and "bug" not in message


@needs_ssh
def test_the_longest_connect_timeout_is_one_ssh_accepts():
    options = sshcmd.safety_options({}, config.MAX_SECONDS)
    proc = subprocess.run(["ssh", "-G", *options, "gpubox"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert f"connecttimeout {config.MAX_SECONDS}" in proc.stdout


@pytest.mark.parametrize("python, body, said", [
    ("python3.9", 'case "$1" in --version) echo "Python 3.9.2";; *) exit 1;; esac\n',
     "the --remote-python python3.9 is Python 3.9.2;"),
    ("python3.12-missing", None, "the --remote-python python3.12-missing is not found;"),
    ("notpython", "exit 2\n", "the --remote-python notpython is not a Python that runs -c;"),
])
def test_a_rejected_remote_python_is_named_with_why(host_here, monkeypatch, python, body, said):
    if body is not None:
        executable(host_here / "bin" / python, body)
    executable(host_here / "bin" / "python3", 'echo "Python 3.11.7"\n')  # must not be quoted

    def stream_script(target, script, timeout=3600):
        proc = sshcmd.run_script(target, script)
        return proc.returncode, proc.stdout.splitlines()

    monkeypatch.setattr(sshcmd, "stream_script", stream_script)
    monkeypatch.setattr(sshcmd, "connect", lambda host, settings: target())
    settings = dict(config.DEFAULTS, remote_python=python, remote_dir=str(host_here / "c"))
    with pytest.raises(RemoteError) as exc:
        provision.setup("gpubox", settings, copy=False, gpu_check=False, project=str(ROOT),
                        out=lambda line: None)
    message = str(exc.value)
    assert message.startswith("no suitable Python (>=") and said in message
    assert "3.11.7" not in message and "--remote-python" in message.split(";")[-1]


# ----------------------------------------------------------------------------- issue 28: jobs

PAPERMILL_LOG = """\
[0:00:01] === 01_convolution_arithmetic (quick mode)
[0:00:02] Input Notebook:  course/01_convolution_arithmetic.ipynb
[0:00:03] Executing notebook with kernel: python3
[0:00:04] Executing Cell 1-----------------------------------------
[0:00:04] a line the cell printed
[0:00:05] Ending Cell 1--------------------------------------------
[0:00:05] Executing Cell 2-----------------------------------------
[0:00:09] Ending Cell 2--------------------------------------------
[0:00:10]     9 s
[0:00:11] === 02_convolution_backprop (quick mode)
[0:00:12] Executing Cell 1-----------------------------------------
"""


def test_progress_shows_notebook_cell_and_time_not_cell_output():
    progress = hostside.Progress({"01_convolution_arithmetic": 40})
    shown = [line for line in map(progress.feed, PAPERMILL_LOG.splitlines()) if line is not None]
    assert shown == ["[0:00:01] === 01_convolution_arithmetic (quick mode)",
                     "[0:00:04] 01_convolution_arithmetic: cell 1/40",
                     "[0:00:05] 01_convolution_arithmetic: cell 2/40",
                     "[0:00:10]     9 s",
                     "[0:00:11] === 02_convolution_backprop (quick mode)",
                     "[0:00:12] 02_convolution_backprop: cell 1"]
    everything = hostside.Progress(show_all=True)
    assert "[0:00:04] a line the cell printed" in map(everything.feed, PAPERMILL_LOG.splitlines())


def test_the_course_cell_counts_come_from_the_notebooks():
    cells = job.notebook_cells(ROOT)
    assert cells["01_convolution_arithmetic"] == len(json.loads(
        (ROOT / "course" / "01_convolution_arithmetic.ipynb").read_text())["cells"]) > 10


@pytest.fixture
def jobs_here(tmp_path, monkeypatch):
    """hostside.py run right here: HOME=tmp (its jobs in tmp/.dlcourse-remote/jobs), and the
    tool's ssh commands replaced by the same command run locally."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sshcmd, "command", lambda target, remote, control=None: remote)
    jobs = tmp_path / ".dlcourse-remote" / "jobs"
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    course = tmp_path / "course"
    course.mkdir()

    def start(command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, hostside.__file__, "start", str(jobs), str(course),
                               str(venv), command], capture_output=True, text=True, timeout=30)

    def wait_end(seconds: float = 30) -> Path:
        current = jobs / (jobs / "current").read_text().strip()
        deadline = time.monotonic() + seconds
        while not (current / "exit").exists():
            assert time.monotonic() < deadline, "the job did not end"
            time.sleep(0.05)
        return current

    return SimpleNamespace(jobs=jobs, venv=venv, course=course, start=start, wait_end=wait_end)


@pytest.mark.slow  # half a second or more
def test_a_job_runs_detached_and_records_its_exit_status(jobs_here):
    started = jobs_here.start("echo \"=== 01_x (quick mode)\"; echo hello; exit 3")
    assert started.returncode == 0 and started.stdout.startswith("DLREMOTE_JOB ")
    jobdir = jobs_here.wait_end()
    assert (jobdir / "exit").read_text().strip() == "3"
    log = (jobdir / "log").read_text().splitlines()
    assert re.fullmatch(r"\[0:00:0\d\] hello", log[1]) and log[-1].endswith("exit status 3")
    lines = []
    assert job.follow(target(), "gpubox", out=lines.append) == (  # through "ssh": sh -s here
        3, "echo \"=== 01_x (quick mode)\"; echo hello; exit 3")
    assert lines[0].endswith("=== 01_x (quick mode)") and lines[-1].endswith("exit status 3")


def test_make_in_a_job_uses_the_environment_and_never_rebuilds_it(jobs_here):
    # the course's Makefile pattern: .venv/.installed is remade when pyproject.toml is newer
    (jobs_here.course / "Makefile").write_text(
        "VENV := .venv\nSTAMP := $(VENV)/.installed\n$(STAMP): pyproject.toml\n\t@echo REBUILT\n"
        "course: $(STAMP)\n\t@echo COURSE with $(VENV) && command -v python\n")
    (jobs_here.course / "pyproject.toml").write_text("")
    jobs_here.start("make course")
    log = (jobs_here.wait_end() / "log").read_text()
    assert "REBUILT" not in log and f"COURSE with {jobs_here.venv}" in log
    assert f"{jobs_here.venv}/bin/python" in log


@pytest.mark.slow  # seconds: waits for a detached job to start and stop
def test_a_second_job_is_refused_and_stop_ends_the_first(jobs_here):
    jobs_here.start("sleep 60")
    second = jobs_here.start("true")
    assert second.returncode == hostside.BUSY and "DLREMOTE_BUSY" in second.stdout
    assert "sleep 60" in second.stdout
    with pytest.raises(RemoteError, match="already running on gpubox .*`sleep 60`.* stop gpubox"):
        job.call(target(), f"start {job.JOBS} \"$DIR\" \"$VENV\" true")
    assert job.stop_job(target()).startswith("job ")
    assert (jobs_here.wait_end(1) / "exit").read_text().strip() == "143"
    assert job.stop_job(target()) is None  # nothing runs now


@pytest.mark.slow  # half a second or more
def test_a_full_disk_during_the_job_is_named(jobs_here):
    jobs_here.start("echo 'OSError: [Errno 28] No space left on device'; exit 1")
    jobs_here.wait_end()
    lines = []
    assert job.follow(target(), "gpubox", out=lines.append)[0] == 1
    assert any("disk of gpubox" in line and "filled up" in line for line in lines)


def test_a_dropped_connection_says_the_job_goes_on(monkeypatch):
    monkeypatch.setattr(sshcmd, "command", lambda *args, **kwargs: ["sh", "-c", "kill -9 $$"])
    with pytest.raises(job.ConnectionLost, match="could not reach.*goes on.*logs gpubox"):
        job.follow(target(), "gpubox")
    refused = "echo 'ssh: connect to host 10.0.0.5 port 22: Connection refused' >&2; exit 255"
    monkeypatch.setattr(sshcmd, "command", lambda *args, **kwargs: ["sh", "-c", refused])
    with pytest.raises(job.ConnectionLost, match="could not reach .*Connection refused"):
        job.follow(target(), "gpubox")  # ssh gone before it read the script: no BrokenPipeError
    following = "echo 'DLREMOTE_FOLLOWING 1 make course'; echo '[0:00:01] === 01_x'; kill -9 $$"
    monkeypatch.setattr(sshcmd, "command", lambda *args, **kwargs: ["sh", "-c", following])
    with pytest.raises(job.ConnectionLost, match="lost the connection.*goes on.*logs gpubox"):
        job.follow(target(), "gpubox")


def test_a_full_disk_is_refused_before_copying(tmp_path, monkeypatch):
    executable(tmp_path / "bin" / "df",
               "echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
               "echo '/dev/vda 1000000 999990 10 100% /'\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setattr(sshcmd, "command",  # `sh -c QUOTED` as the host's shell reads it
                        lambda target, remote, control=None: ["sh", "-c", *shlex.split(remote[2])])
    with pytest.raises(RemoteError, match=r"disk of gpubox .* is full \(10 KiB free"):
        provision.upload(target(), str(tmp_path / "course"), b"x" * 4096)
    assert list((tmp_path / "course").iterdir()) == []


def test_fetch_folders_are_never_reused(tmp_path):
    day = __import__("datetime").date(2026, 12, 7)
    first = job.new_folder(tmp_path, "ubuntu@203.0.113.7", day)
    second = job.new_folder(tmp_path, "ubuntu@203.0.113.7", day)
    assert (first.name, second.name) == ("ubuntu_203.0.113.7-2026-12-07",
                                         "ubuntu_203.0.113.7-2026-12-07-2")


@pytest.mark.parametrize("kind", ["symlink", "parent"])
def test_fetched_archives_cannot_write_outside_their_folder(tmp_path, kind):
    buffer = BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("build/link" if kind == "symlink" else "../../evil")
        if kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info, BytesIO(b""))
    with pytest.raises(RemoteError, match="refusing"):
        job.unpack(buffer.getvalue(), tmp_path / "into")
    assert not (tmp_path / "evil").exists()


def test_shutdown_needs_root_or_sudo_without_a_password(tmp_path, monkeypatch):
    executable(tmp_path / "bin" / "shutdown", "exit 0\n")
    executable(tmp_path / "bin" / "sudo", "exit 1\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    argv, why = hostside.shutdown_command()
    assert argv is None and why == f"sudo asks for a password to run {tmp_path}/bin/shutdown"
    executable(tmp_path / "bin" / "sudo", "exit 0\n")
    assert hostside.shutdown_command() == (
        ["sudo", "-n", f"{tmp_path}/bin/shutdown", "-h", "now"], None)


def test_a_host_that_cannot_shut_down_is_said_so(monkeypatch):
    monkeypatch.setattr(job, "call", lambda *args, **kwargs: {
        "NOSHUTDOWN": ["sudo asks for a password to run /sbin/shutdown"]})
    lines = []
    job.arm_idle(target(), 30, out=lines.append)
    assert lines == [f"WARNING: --stop-after-idle is OFF: {target().label} cannot shut itself "
                     "down (sudo asks for a password to run /sbin/shutdown); allow it (a sudoers "
                     "line `USER ALL=(root) NOPASSWD: /sbin/shutdown`) or stop the machine in "
                     "your cloud console when done"]


class _FakeJupyter(http.server.BaseHTTPRequestHandler):
    answers: dict = {}

    def do_GET(self):
        body = json.dumps(self.answers[self.path]).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("status, kernels, busy", [
    ({"connections": 0}, [{"execution_state": "idle"}], None),
    ({"connections": 1}, [], "a browser is connected"),
    ({"connections": 0}, [{"execution_state": "busy"}], "a kernel is busy"),
])
@pytest.mark.slow  # half a second or more
def test_idle_means_no_browser_and_no_busy_kernel(tmp_path, monkeypatch, status, kernels, busy):
    server = http.server.HTTPServer(("127.0.0.1", 0), _FakeJupyter)
    _FakeJupyter.answers = {"/api/status": status, "/api/kernels": kernels}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    url = f"http://127.0.0.1:{server.server_port}/"
    (runtime / "jpserver-1.json").write_text(json.dumps({"url": url, "pid": os.getpid()}))
    (runtime / "jpserver-2.json").write_text(json.dumps({"url": "http://127.0.0.1:1/",
                                                         "pid": 2 ** 22 + 1}))  # gone
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    try:
        found = hostside.busy_jupyter()
    finally:
        server.shutdown()
    assert found is None if busy is None else found.startswith(busy)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "abc", "1441"])
def test_stop_after_idle_minutes_are_checked(value, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "gpubox", "--stop-after-idle", value])
    assert exc.value.code == 2
    assert "--stop-after-idle" in capsys.readouterr().err


def test_only_run_takes_a_remote_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["stop", "gpubox", "--", "make", "course"])
    assert exc.value.code == 2 and "only `run` takes a command" in capsys.readouterr().err
    assert cli.split_command(["run", "h", "--fetch", "--", "make", "-j2", "--", "x"]) == (
        ["run", "h", "--fetch"], ["make", "-j2", "--", "x"])


@pytest.mark.parametrize("error, status", [(job.JobFailed("`make course` ended with 3", 3), 3),
                                           (job.ConnectionLost("lost the connection"), 255)])
def test_the_job_status_becomes_the_tools(monkeypatch, capsys, error, status):
    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(job, "run", fail)
    assert cli.main(["run", "gpubox"]) == status
    assert one_line(capsys).endswith(str(error))


def test_on_a_terminal_progress_lines_replace_each_other(capsys):
    console = job.Console(print, terminal=True)
    progress = hostside.Progress({"01_convolution_arithmetic": 40})
    for line in PAPERMILL_LOG.splitlines():
        shown = progress.feed(line)
        if shown is not None:
            (console.line if shown == line else console.progress)(shown)
    console.close()
    screen = capsys.readouterr().out
    cell = "\r\033[K[0:00:{:02d}] {}: cell {}"  # each cell line overwrites the one before
    assert screen == ("[0:00:01] === 01_convolution_arithmetic (quick mode)\n"
                      + cell.format(4, "01_convolution_arithmetic", "1/40")
                      + cell.format(5, "01_convolution_arithmetic", "2/40")
                      + "\n[0:00:10]     9 s\n[0:00:11] === 02_convolution_backprop (quick mode)\n"
                      + cell.format(12, "02_convolution_backprop", "1") + "\n")


def test_setup_tries_the_newest_supported_python_first():
    """The course runs on Python 3.11 to 3.13: a host's newest one is taken, python3 last."""
    script = scripts.install("dlcourse", ".venv", None, "true", "numpy==2.4.6")
    loop = next(line for line in script.splitlines() if line.startswith("for CANDIDATE in "))
    assert loop == "for CANDIDATE in python3.13 python3.12 python3.11 python3; do"
