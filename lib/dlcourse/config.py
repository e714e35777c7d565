"""Where the course keeps things, and which mode it runs in.

Every notebook's ``parameters`` cell reads ``DLCOURSE_QUICK`` itself (so papermill
and a learner both see the switch); this module holds the paths the package needs.
"""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# lib/dlcourse -> project root, when installed editable from a checkout.
_CHECKOUT = PACKAGE_DIR.parents[1]
PROJECT_ROOT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").exists() else Path.cwd()


def quick_mode() -> bool:
    """True when ``DLCOURSE_QUICK=1``: small sizes, about a minute per notebook."""
    return os.environ.get("DLCOURSE_QUICK", "0") == "1"


def mode_name() -> str:
    return "quick" if quick_mode() else "full"


def data_dir() -> Path:
    """The download cache: ``$DLCOURSE_DATA_DIR`` or ``<project>/data``."""
    return Path(os.environ.get("DLCOURSE_DATA_DIR", PROJECT_ROOT / "data"))


def mirror_dir() -> Path | None:
    """The offline mirror named by ``$DLCOURSE_DATA_MIRROR``, if any."""
    value = os.environ.get("DLCOURSE_DATA_MIRROR")
    return Path(value).expanduser().resolve() if value else None


def results_path() -> Path:
    """Where ``report.record`` stores results: ``$DLCOURSE_RESULTS`` or build/results.json."""
    return Path(os.environ.get("DLCOURSE_RESULTS", PROJECT_ROOT / "build" / "results.json"))


def strict_checks() -> bool:
    """In strict mode (tests, ``make course``) a wrong exercise answer raises."""
    return os.environ.get("DLCOURSE_STRICT", "0") == "1"
