"""JupyterHub for a class on one server (hub/README.md): the course for every learner.

Each learner gets their own copy of ``course/`` on first login, and updates later
without losing their edits (``course_sync.py``, run as the learner before their
server). The environment (this checkout's ``.venv``, with the course kernel and its lab
settings) is installed once and shared read-only; so is the data cache, filled once for
the class at the hub's start. Quick mode unless ``DLCOURSE_HUB_QUICK=0`` (a GPU server).

Settings, from the hub's environment (the systemd unit in hub/README.md sets them):

- ``DLCOURSE_HUB_COURSE``: the course folder learners copy (default this checkout's course/);
- ``DLCOURSE_HUB_DATA``: the shared data cache (default /srv/dlcourse/data);
- ``DLCOURSE_HUB_MIRROR``: an offline mirror to fill it from (default: download);
- ``DLCOURSE_HUB_DATASETS``: the datasets to fetch at start (default all; "" none);
- ``DLCOURSE_HUB_IDLE``: seconds before an idle server is stopped (default 3600);
- ``DLCOURSE_HUB_MEMORY`` / ``DLCOURSE_HUB_CPUS``: per-learner limits (default 4G / 2),
  enforced by a systemd spawner, not by the plain local one (The Littlest JupyterHub
  keeps its own, set with tljh-config).
"""

import os
import subprocess
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

CHECKOUT = Path(__file__).resolve().parents[1]
BIN = CHECKOUT / ".venv" / "bin"
COURSE = os.environ.get("DLCOURSE_HUB_COURSE", str(CHECKOUT / "course"))
DATA = Path(os.environ.get("DLCOURSE_HUB_DATA", "/srv/dlcourse/data"))
QUICK = os.environ.get("DLCOURSE_HUB_QUICK", "1")
IDLE = int(os.environ.get("DLCOURSE_HUB_IDLE", "3600"))

sys.path.insert(0, str(CHECKOUT / "hub"))
from course_sync import blocked_folder  # noqa: E402 (hub/ is a folder of scripts)

if blocked := blocked_folder(BIN / "python"):
    sys.exit(f"The learners cannot run {BIN / 'python'}: {blocked} is closed to other users. "
             "Build .venv with a Python installed for all (hub/README.md), or chmod o+x it")


def fill_data_cache() -> None:
    """Fetch the course's datasets once for the class into ``DATA`` (verified against the
    manifest's hashes; already cached files are only checked), readable by all."""
    names = os.environ.get("DLCOURSE_HUB_DATASETS")
    if names == "":
        return
    env = dict(os.environ, DLCOURSE_DATA_DIR=str(DATA))
    if os.environ.get("DLCOURSE_HUB_MIRROR"):
        env["DLCOURSE_DATA_MIRROR"] = os.environ["DLCOURSE_HUB_MIRROR"]
    DATA.mkdir(parents=True, exist_ok=True)
    DATA.chmod(0o755)
    fetched = subprocess.run([str(BIN / "python"), "-m", "dlcourse.data", "fetch",
                              *(names.split() if names else [])], env=env, umask=0o022)
    if fetched.returncode:
        sys.exit(f"The shared data cache {DATA} is incomplete (see above); fix the mirror "
                 "or the network and start the hub again")


fill_data_cache()

# Where this file is loaded after settings of its own (The Littlest JupyterHub loads it from
# jupyterhub_config.d), those stay: its authenticator, its systemd spawner with enforced
# limits, its proxy's addresses.
c.JupyterHub.setdefault("ip", "127.0.0.1")  # HTTPS in front (hub/README.md)
c.JupyterHub.setdefault("hub_ip", "127.0.0.1")
c.JupyterHub.setdefault("authenticator_class", "pam")
c.JupyterHub.setdefault("spawner_class", "jupyterhub.spawner.LocalProcessSpawner")
c.Spawner.setdefault("mem_limit", os.environ.get("DLCOURSE_HUB_MEMORY", "4G"))
c.Spawner.setdefault("cpu_limit", float(os.environ.get("DLCOURSE_HUB_CPUS", "2")))
c.JupyterHub.cleanup_servers = True
c.Authenticator.admin_users = set(os.environ.get("DLCOURSE_HUB_ADMINS", "").split())

c.Spawner.cmd = [str(BIN / "python"), str(CHECKOUT / "hub" / "course_sync.py"),
                 COURSE, "~/course", "--", str(BIN / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~/course"
c.Spawner.default_url = "/lab"
c.Spawner.args = [f"--LabApp.app_settings_dir={CHECKOUT / 'jupyter' / 'lab' / 'settings'}"]
c.Spawner.environment = {
    "DLCOURSE_QUICK": QUICK,
    "DLCOURSE_DATA_DIR": str(DATA),
    "DLCOURSE_RESULTS": "~/course/results.json",  # each learner's own, not the checkout's
    "JUPYTER_PATH": str(CHECKOUT / "jupyter"),
}
# A server imports TensorFlow with its first kernel; on a busy class server that is slow.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300

c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [str(BIN / "python"), "-m", "jupyterhub_idle_culler", f"--timeout={IDLE}",
                f"--cull-every={max(60, IDLE // 10)}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
