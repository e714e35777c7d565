"""The class hub (hub/): a real JupyterHub behind its real proxy, two learners in Chromium.

The fast tests check the pieces: the course copy and its merge of updates
(hub/course_sync.py), the Kubernetes values (yamllint and their sense) and the course
image's pins against pyproject.toml. The ``hub`` tests start JupyterHub (PyPI) with
configurable-http-proxy (npm, hub/package.json, installed here on first use) on
loopback, as root: two system users are created for the run and removed after it. Each
learner logs in through the proxy, gets their own copy of the course and runs lesson 01
in quick mode with its widget; learner B is refused at A's server and B's kernel cannot
read A's files; an edit survives an update of the course; the data mirror is read once,
at the hub's start, for both. ``pytest -m "not hub"`` leaves these out.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from browser import TEST_USER_SETTINGS, free_port, launch
from test_browser import (
    STDERR,
    STDERR_JS,
    check_ran_all_cleanly,
    open_and_start,
    screenshot,
    sync_api,
    wait_for_run_all,
)

from conftest import ROOT

HUB_DIR = ROOT / "hub"
sys.path.insert(0, str(HUB_DIR))
import course_sync  # noqa: E402 (hub/ is a folder of scripts, not a package)

CHP = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
LESSON = "01_convolution_arithmetic"
START_LIMIT_S = float(os.environ.get("HUB_START_TIMEOUT", "300"))


def pins(lines) -> dict[str, str]:
    """{name: "name==version; marker"} of the ``name==version`` requirement lines."""
    found = {}
    for line in lines:
        match = re.match(r"\s*([A-Za-z0-9_.\-]+)==", line)
        if match:
            found[match.group(1).lower()] = line.strip()
    return found


# --- the course copy ---------------------------------------------------------------------

@pytest.fixture
def course(tmp_path):
    source = tmp_path / "course"
    (source / "reference").mkdir(parents=True)
    (source / "01_a.ipynb").write_text("lesson 1 v1")
    (source / "02_b.ipynb").write_text("lesson 2 v1")
    (source / "reference" / "r.txt").write_text("reference v1")
    (source / ".hidden").write_text("not for learners")
    return source


def test_first_login_copies_the_course_privately(course, tmp_path):
    dest = tmp_path / "home" / "course"
    report = course_sync.sync(course, dest)
    assert sorted(report.copied) == ["01_a.ipynb", "02_b.ipynb", "reference/r.txt"]
    assert (dest / "reference" / "r.txt").read_text() == "reference v1"
    assert not (dest / ".hidden").exists()
    assert dest.stat().st_mode & 0o777 == 0o700, "other learners could read this copy"


def test_an_update_keeps_the_learners_edits(course, tmp_path):
    dest = tmp_path / "course-copy"
    course_sync.sync(course, dest)
    (dest / "01_a.ipynb").write_text("my answers")  # the learner's edit
    (dest / "reference" / "r.txt").unlink()  # deleted by the learner: restored
    (dest / "mine.ipynb").write_text("my own notebook")
    (course / "01_a.ipynb").write_text("lesson 1 v2")
    (course / "02_b.ipynb").write_text("lesson 2 v2")
    (course / "03_c.ipynb").write_text("lesson 3 v1")
    report = course_sync.sync(course, dest)
    assert (dest / "01_a.ipynb").read_text() == "my answers"
    assert (dest / "02_b.ipynb").read_text() == "lesson 2 v2"
    assert (dest / "03_c.ipynb").read_text() == "lesson 3 v1"
    assert (dest / "reference" / "r.txt").read_text() == "reference v1"
    assert (dest / "mine.ipynb").read_text() == "my own notebook"
    assert (report.kept, report.updated) == (["01_a.ipynb"], ["02_b.ipynb"])
    assert sorted(report.copied) == ["03_c.ipynb", "reference/r.txt"]
    # The edit still wins on the next update, and an unchanged course changes nothing.
    assert course_sync.sync(course, dest).kept == ["01_a.ipynb"]
    assert (dest / "01_a.ipynb").read_text() == "my answers"


def test_a_file_already_there_before_the_first_sync_is_the_learners(course, tmp_path):
    dest = tmp_path / "course-copy"
    dest.mkdir()
    (dest / "01_a.ipynb").write_text("written before the hub existed")
    assert course_sync.sync(course, dest).kept == ["01_a.ipynb"]
    assert (dest / "01_a.ipynb").read_text() == "written before the hub existed"


def test_the_server_starts_even_when_the_course_is_missing(tmp_path):
    marker = tmp_path / "started"
    run = subprocess.run([sys.executable, str(HUB_DIR / "course_sync.py"), str(tmp_path / "none"),
                          str(tmp_path / "dest"), "--", sys.executable, "-c",
                          f"open({str(marker)!r}, 'w')"], capture_output=True, text=True)
    assert marker.exists(), f"no Jupyter server after a failed course sync: {run.stderr}"
    assert run.stderr.startswith("course: not updated") and len(run.stderr.splitlines()) == 1


@pytest.fixture
def open_folder():
    """A folder that every user may enter, and the folders above it (pytest's own is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="dlcourse-hub-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_a_folder_closed_to_other_users_on_the_way_to_the_environment_is_named(open_folder):
    python = open_folder / "home" / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True, mode=0o755)
    python.write_text("")
    assert course_sync.blocked_folder(python) is None
    (open_folder / "home").chmod(0o700)  # like a pyenv Python under /root
    assert course_sync.blocked_folder(python) == open_folder / "home"


def test_a_closed_folder_above_a_link_to_the_interpreter_is_named(open_folder):
    """A virtual environment's bin/python links to an open interpreter, but the learners
    reach the link through the environment's own folders: a clone in a 0700 folder
    (mktemp -d) once failed every spawn with 'Permission denied' on the link."""
    interpreter = open_folder / "opt" / "python3.11"
    interpreter.parent.mkdir(mode=0o755)
    interpreter.write_text("")
    link = open_folder / "clone" / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True, mode=0o755)
    link.symlink_to(interpreter)
    assert course_sync.blocked_folder(link) is None
    (open_folder / "clone").chmod(0o700)
    assert course_sync.blocked_folder(link) == open_folder / "clone"


# --- Kubernetes and the course image (not run here: no cluster, no image build) -----------

def z2jh_values() -> dict:
    return yaml.safe_load((HUB_DIR / "z2jh" / "values.yaml").read_text())


def test_the_helm_values_pass_yamllint():
    run = subprocess.run([sys.executable, "-m", "yamllint", "-s", "-d",
                          "{extends: default, rules: {line-length: {max: 100}, "
                          "document-start: disable}}", str(HUB_DIR / "z2jh" / "values.yaml")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_helm_values_give_quick_cpu_and_full_gpu_profiles_a_shared_data_volume_and_culling():
    values = z2jh_values()
    assert set(values) <= {"hub", "proxy", "singleuser", "cull", "scheduling", "prePuller",
                           "ingress"}, "a top-level key Zero to JupyterHub does not have"
    user = values["singleuser"]
    profiles = {p["slug"]: p for p in user["profileList"]}
    assert set(profiles) == {"cpu", "gpu"}
    assert profiles["cpu"].get("default") is True
    assert profiles["cpu"]["kubespawner_override"]["environment"]["DLCOURSE_QUICK"] == "1"
    gpu = profiles["gpu"]["kubespawner_override"]
    assert gpu["environment"]["DLCOURSE_QUICK"] == "0"
    assert gpu["extra_resource_limits"]["nvidia.com/gpu"] in ("1", 1)
    mounts = {m["name"]: m for m in user["storage"]["extraVolumeMounts"]}
    volumes = {v["name"]: v for v in user["storage"]["extraVolumes"]}
    assert mounts["course-data"]["readOnly"] is True
    assert volumes["course-data"]["persistentVolumeClaim"]["readOnly"] is True
    assert user["extraEnv"]["DLCOURSE_DATA_DIR"] == mounts["course-data"]["mountPath"]
    assert user["cmd"][:2] == ["python", "/opt/dlcourse/hub/course_sync.py"]
    assert user["cmd"][-2:] == ["--", "jupyterhub-singleuser"]
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] > 0
    image = values["singleuser"]["image"]
    assert image["name"] and image["tag"], "the course image needs a name and a tag"


def test_the_course_image_is_built_from_pyprojects_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    expected = pins(project["dependencies"])
    dockerfile = (HUB_DIR / "image" / "Dockerfile").read_text()
    # Every version the Dockerfile names itself is pyproject's, marker and all ...
    named = pins(re.findall(r"[\"']?([A-Za-z0-9_.\-]+==[^\s\"'\\]+)", dockerfile))
    assert {name: expected.get(name, "(not in pyproject.toml)").split(";")[0]
            for name in named} == named
    # ... and the rest come from pyproject.toml itself, copied into the image.
    assert re.search(r"^COPY .*pyproject\.toml", dockerfile, re.M)
    assert re.search(r"pip install [^\n]*--no-cache-dir[^\n]* /opt/dlcourse\b", dockerfile)
    python = re.search(r"^FROM python:(3\.\d+)", dockerfile, re.M)
    assert python, "the image should start from an official python:3.x image"
    low, high = re.findall(r"3\.(\d+)", project["requires-python"])
    assert int(low) <= int(python.group(1).split(".")[1]) < int(high)


# --- a real hub --------------------------------------------------------------------------

TEST_CONFIG = """\
load_subconfig({main!r})
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.port = {port}
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.services = [*c.JupyterHub.services, {{"name": "hub-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [*c.JupyterHub.load_roles, {{"name": "hub-test", "services":
    ["hub-test"], "scopes": ["admin:users", "admin:servers", "access:servers", "read:services"]}}]
"""


def install_proxy() -> float:
    """configurable-http-proxy at hub/package.json's pin, from hub/package-lock.json, in
    hub/node_modules (npm ci) unless it is there already; the seconds that took."""
    pin = json.loads((HUB_DIR / "package.json").read_text())["dependencies"][
        "configurable-http-proxy"]
    started = time.perf_counter()
    have = subprocess.run([str(CHP), "--version"], capture_output=True, text=True) \
        if CHP.exists() else None
    if not (have and have.stdout.strip() == pin):
        if not shutil.which("npm"):
            pytest.skip("npm is missing: install Node.js 20 to run the hub tests")
        run = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                             cwd=HUB_DIR, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"npm ci in hub/ failed: {run.stderr[-2000:]}"
    return time.perf_counter() - started


@dataclass
class Hub:
    base: str
    token: str
    password: str
    learners: list[str]
    course: Path  # what the learners copy
    data: Path  # the shared data cache
    log: Path
    proxy_api: str
    proxy_token: str
    started_s: float = 0.0

    def api(self, path: str, method: str = "GET", body=None, server: str | None = None):
        """JSON from the hub's REST API (``hub/api/<path>``), or from the Jupyter server of
        the learner ``server`` (``user/<server>/<path>``), as the test's service."""
        url = f"{self.base}/user/{server}/{path}" if server else f"{self.base}/hub/api/{path}"
        request = urllib.request.Request(
            url, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            text = response.read()
        return json.loads(text) if text else None

    def start(self, learner: str) -> None:
        """Start ``learner``'s server unless it runs, and wait until it answers."""
        if not self.api(f"users/{learner}")["servers"]:
            self.api(f"users/{learner}/server", "POST")
        deadline = time.monotonic() + START_LIMIT_S
        while not self.api(f"users/{learner}")["servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, f"{learner}'s server did not start:\n" \
                f"{self.log.read_text()[-3000:]}"
            time.sleep(1)

    def run_code(self, learner: str, code: str) -> str:
        """What ``code`` prints in a new course kernel on ``learner``'s server."""
        import websocket

        kernel = self.api("api/kernels", "POST", {"name": "python3"}, server=learner)
        socket = websocket.create_connection(
            f"{self.base.replace('http', 'ws', 1)}/user/{learner}/api/kernels/{kernel['id']}"
            "/channels", header=[f"Authorization: token {self.token}"], timeout=START_LIMIT_S)
        try:
            msg_id = uuid.uuid4().hex
            socket.send(json.dumps({
                "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                           "session": uuid.uuid4().hex, "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": False,
                            "user_expressions": {}, "allow_stdin": False}}))
            printed = []
            while True:
                message = json.loads(socket.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    printed.append(content["text"])
                elif kind == "error":
                    raise AssertionError(f"{learner}'s kernel: {content['ename']}: "
                                         f"{content['evalue']}")
                elif kind == "status" and content["execution_state"] == "idle":
                    return "".join(printed)
        finally:
            socket.close()
            self.api(f"api/kernels/{kernel['id']}", "DELETE", server=learner)


def new_learner(name: str) -> None:
    """A system user with a home folder, and the test's JupyterLab settings in it."""
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True,
                   capture_output=True)
    settings = Path(f"~{name}").expanduser() / ".jupyter" / "lab" / "user-settings"
    for file, values in TEST_USER_SETTINGS.items():
        (settings / file).parent.mkdir(parents=True, exist_ok=True)
        (settings / file).write_text(json.dumps(values))
    subprocess.run(["chown", "-R", f"{name}:", str(settings.parents[2])], check=True)


def remove_learner(name: str) -> None:
    """Stop whatever still runs as ``name`` (by process id), then remove the user."""
    try:
        uid = int(subprocess.run(["id", "-u", name], capture_output=True, text=True,
                                 check=True).stdout)
    except subprocess.CalledProcessError:
        return
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"\nUid:\t{uid}\t" in status.read_text():
                os.kill(int(status.parent.name), signal.SIGKILL)
        except (OSError, ValueError):  # gone meanwhile
            continue
    subprocess.run(["userdel", "--remove", name], capture_output=True)


@pytest.fixture(scope="module")
def hub():
    """JupyterHub as root on loopback with two learners; everything is stopped and removed
    afterwards."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("the hub tests create two system users: run them as root (CI does)")
    mirror = os.environ.get("DLCOURSE_DATA_MIRROR")
    if not mirror or not (Path(mirror) / "mnist").is_dir():
        pytest.skip("the hub tests fill the shared data cache from DLCOURSE_DATA_MIRROR "
                    "(with mnist/): set it to the course's offline mirror")
    print(f"configurable-http-proxy installed or checked in {install_proxy():.1f} s")
    tag = secrets.token_hex(3)
    learners = [f"dlc-a-{tag}", f"dlc-b-{tag}"]
    # Outside pytest's own temporary folder, which only root may enter: learners read here.
    work = Path(tempfile.mkdtemp(prefix="dlcourse-hub-"))
    work.chmod(0o755)
    course, data, log = work / "course", work / "data", work / "hub.log"
    shutil.copytree(ROOT / "course", course, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    # The class's mirror, read once at the hub's start; removed once the hub is up.
    (work / "mirror").mkdir()
    (work / "mirror" / "mnist").symlink_to(Path(mirror) / "mnist")
    token, password = secrets.token_hex(16), secrets.token_hex(8)
    port, api_port = free_port(), free_port()
    (work / "config.py").write_text(TEST_CONFIG.format(
        main=str(HUB_DIR / "jupyterhub_config.py"), password=password, users=set(learners),
        port=port, hub_port=free_port(), api_port=api_port, chp=str(CHP), token=token))
    hub = Hub(f"http://127.0.0.1:{port}", token, password, learners, course, data, log,
              f"http://127.0.0.1:{api_port}", secrets.token_hex(16))
    env = dict(os.environ, DLCOURSE_HUB_COURSE=str(course), DLCOURSE_HUB_DATA=str(data),
               DLCOURSE_HUB_MIRROR=str(work / "mirror"), DLCOURSE_HUB_DATASETS="mnist",
               DLCOURSE_HUB_IDLE="600", CONFIGPROXY_AUTH_TOKEN=hub.proxy_token)
    env.pop("DLCOURSE_DATA_MIRROR")  # the learners get the cache, never the mirror
    process, opened = None, []
    try:
        # A Python installed under /root (pyenv) cannot be run by the learners: open the
        # folders on the way for the run (search only, not listing), and close them after.
        while blocked := course_sync.blocked_folder(Path(sys.executable)):
            opened.append((blocked, blocked.stat().st_mode))
            blocked.chmod(blocked.stat().st_mode | 0o001)
        for name in learners:
            new_learner(name)
        started = time.perf_counter()
        with open(log, "w") as out:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(work / "config.py")],
                cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            assert process.poll() is None, f"jupyterhub exited:\n{log.read_text()[-3000:]}"
            try:
                hub.api("")
                break
            except OSError:
                assert time.monotonic() < deadline, f"no hub after {START_LIMIT_S} s:\n" \
                    f"{log.read_text()[-3000:]}"
                time.sleep(0.5)
        hub.started_s = time.perf_counter() - started
        print(f"hub started in {hub.started_s:.1f} s (data cache filled from the mirror)")
        (work / "mirror" / "mnist").unlink()
        yield hub
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the hub stops the servers and the proxy
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                proxy = work / "jupyterhub-proxy.pid"  # the proxy, left behind by a killed hub
                with contextlib.suppress(OSError, ValueError):
                    os.kill(int(proxy.read_text()), signal.SIGKILL)
        for name in learners:
            remove_learner(name)
        for folder, mode in opened:
            folder.chmod(mode)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def log_in(browser, hub: Hub, learner: str):
    """A page of ``learner``'s own browser, logged in through the proxy, on their JupyterLab
    (started by that login when it was not running) with a fresh workspace."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.console_errors = []
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.goto(f"{hub.base}/hub/login")
    page.fill("#username_input", learner)
    page.fill("#password_input", hub.password)
    page.click("#login_submit")
    try:
        page.wait_for_url(re.compile(rf"/user/{learner}/lab"), timeout=START_LIMIT_S * 1000)
    except sync_api.TimeoutError:
        shot = screenshot(page, f"hub/{learner}-login-failed")
        pytest.fail(f"{learner} did not reach JupyterLab after logging in: still at {page.url} "
                    f"(screenshot {shot}); hub log:\n{hub.log.read_text()[-3000:]}",
                    pytrace=False)
    page.goto(f"{hub.base}/user/{learner}/lab/workspaces/hub?reset")
    page.locator(".jp-DirListing-item").first.wait_for()
    return page


def hub_test(test):
    """The marks of a test on the real hub: ``pytest -m "not hub"`` leaves it out, and
    ``make test`` runs it with the other browser tests, on the same hub (one start)."""
    for mark in (pytest.mark.hub, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1200)):
        test = mark(test)
    return test


@hub_test
@pytest.mark.parametrize("which", [0, 1], ids=["learner-a", "learner-b"])
def test_a_learner_logs_in_and_runs_lesson_01_in_quick_mode(hub, browser, which):
    learner, started = hub.learners[which], time.perf_counter()
    page = log_in(browser, hub, learner)
    logged_in = time.perf_counter() - started
    try:
        open_and_start(page, LESSON)
        wait_for_run_all(page, LESSON)
        moved, shot = check_ran_all_cleanly(page, f"hub/{['learner-a', 'learner-b'][which]}",
                                            page.evaluate(STDERR_JS, STDERR))
        print(f"{learner}: logged in and server up in {logged_in:.0f} s, lesson 01 (quick) "
              f"{time.perf_counter() - started - logged_in:.0f} s, {moved}, screenshot {shot}")
    except (AssertionError, sync_api.Error) as problem:
        shot = screenshot(page, f"hub/{learner}-failed")
        pytest.fail(f"{learner}: {problem} (screenshot {shot}; hub log {hub.log}; page errors "
                    f"{page.console_errors[:3]})", pytrace=False)
    finally:
        page.context.close()
    home = Path(f"~{learner}").expanduser()
    assert (home / "course" / f"{LESSON}.ipynb").stat().st_uid == home.stat().st_uid, \
        "the learner's copy of the course is not their own"


@hub_test
def test_learner_b_can_neither_open_a_server_nor_read_a_notebooks(hub, browser):
    a, b = hub.learners
    page = log_in(browser, hub, b)
    try:
        response = page.goto(f"{hub.base}/user/{a}/lab")
        listing = page.locator(".jp-DirListing-item").count()
        screenshot(page, "hub/learner-b-at-a-server")
        assert response.status == 403 and not listing, \
            f"{b} reached {a}'s server: HTTP {response.status}, {page.url}"
    finally:
        page.context.close()
    hub.start(b)
    notebook = Path(f"~{a}").expanduser() / "course" / f"{LESSON}.ipynb"
    assert notebook.exists(), "learner A has no copy of the course to protect"
    read = hub.run_code(b, f"""
try:
    open({str(notebook)!r}).read()
    print("READ")
except PermissionError:
    print("DENIED")""")
    assert read.strip() == "DENIED", f"{b}'s kernel read {a}'s notebook"


@hub_test
def test_the_environment_and_the_data_cache_are_shared_read_only(hub):
    """Both kernels run the checkout's .venv and read the class's one data cache, filled
    at the hub's start from the mirror (gone since), and can write to neither."""
    check = """
import os, sys
from dlcourse import config, data
paths = data.fetch("mnist", download=False)
print(sys.prefix, os.environ["DLCOURSE_QUICK"], config.data_dir(), config.mirror_dir(),
      os.access(sys.prefix, os.W_OK), os.access(config.data_dir() / "mnist", os.W_OK),
      all(str(p).startswith(str(config.data_dir())) for p in paths.values()))"""
    for learner in hub.learners:
        hub.start(learner)
        seen = hub.run_code(learner, check).split()
        assert seen == [str(ROOT / ".venv"), "1", str(hub.data), "None", "False", "False",
                        "True"], f"{learner}: {seen}"


@hub_test
def test_a_learners_edit_survives_an_update_of_the_course(hub):
    a = hub.learners[0]
    hub.start(a)
    # The learner's edit, saved by their own server (the lesson's script, as a text file).
    edited = hub.api(f"api/contents/{LESSON}.py?type=file&format=text", server=a)
    hub.api(f"api/contents/{LESSON}.py", "PUT", {
        "type": "file", "format": "text", "content": edited["content"] + "# my own note\n"},
        server=a)
    # The instructor updates the course: the edited lesson, another one, and a new file.
    (hub.course / f"{LESSON}.py").write_text((hub.course / f"{LESSON}.py").read_text() + "#\n")
    (hub.course / "00_setup.py").write_text((hub.course / "00_setup.py").read_text() + "#v2\n")
    (hub.course / "09_new.md").write_text("# A new lesson\n")
    hub.api(f"users/{a}/server", "DELETE")
    while hub.api(f"users/{a}")["servers"]:
        time.sleep(1)
    hub.start(a)
    copy = Path(f"~{a}").expanduser() / "course"
    assert (copy / f"{LESSON}.py").read_text().endswith("# my own note\n")
    assert (copy / "00_setup.py").read_text().endswith("#v2\n")
    assert (copy / "09_new.md").read_text() == "# A new lesson\n"


@hub_test
def test_everything_listens_on_loopback_only(hub):
    """The proxy, the hub and every learner's server: no listening socket elsewhere."""
    routes = json.loads(urllib.request.urlopen(urllib.request.Request(
        hub.proxy_api + "/api/routes", headers={"Authorization": f"token {hub.proxy_token}"}),
        timeout=30).read())
    ports = {int(target.rsplit(":", 1)[1].split("/")[0])
             for target in (r["target"] for r in routes.values())}
    ports |= {int(hub.base.rsplit(":", 1)[1]), int(hub.proxy_api.rsplit(":", 1)[1])}
    listening = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, port = local.split(":")
            if state == "0A" and int(port, 16) in ports:
                listening.setdefault(int(port, 16), set()).add(address)
    assert set(listening) == ports, f"nothing listens on {ports - set(listening)}"
    loopback = {"0100007F", "00000000000000000000000001000000"}
    assert all(addresses <= loopback for addresses in listening.values()), listening


@hub_test
def test_the_idle_culler_runs_as_a_hub_service(hub):
    culler = hub.api("services/idle-culler")
    command = Path(f"/proc/{culler['pid']}/cmdline").read_bytes().split(b"\0")
    assert b"jupyterhub_idle_culler" in command and b"--timeout=600" in command, command
