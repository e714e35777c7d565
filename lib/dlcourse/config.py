"""Where the course keeps things, and which mode it runs in.

Every notebook's ``parameters`` cell sets ``QUICK = config.quick_mode()`` (so papermill
can still override it), and ``make course`` reads ``QUICK=`` through the same
:func:`switch`: one reading of an on/off setting everywhere. This module also holds
the paths the package needs. An environment variable set to the empty string (or only
spaces) counts as unset everywhere.
"""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# lib/dlcourse -> the checkout's root, when installed editable from a checkout.
CHECKOUT_DIR = PACKAGE_DIR.parents[1]
IN_CHECKOUT = (CHECKOUT_DIR / "pyproject.toml").exists() and (CHECKOUT_DIR / "course").is_dir()
PROJECT_ROOT = CHECKOUT_DIR if IN_CHECKOUT else Path.cwd()
MANIFEST = PACKAGE_DIR / "data" / "manifest.json"


def env(name: str) -> str | None:
    """The value of environment variable ``name``, or None when unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or None


class SettingError(ValueError):
    """An environment variable of the course holds a value it cannot use."""


def switch(name: str) -> bool:
    """The on/off environment variable ``name``: "1" is on; "0", unset or empty is off.

    Spaces around the value are ignored. Anything else ("yes", "true", "2") raises
    SettingError naming the variable, instead of quietly meaning off.
    """
    value = env(name)
    if value not in (None, "0", "1"):
        raise SettingError(f"{name}={os.environ[name]!r} is not understood: "
                           f"set {name}=1 (on) or {name}=0 (off)")
    return value == "1"


def quick_mode() -> bool:
    """True when ``DLCOURSE_QUICK=1``: small sizes, about a minute per notebook."""
    return switch("DLCOURSE_QUICK")


def mode_name() -> str:
    return "quick" if quick_mode() else "full"


def data_dir() -> Path:
    """The download cache: ``$DLCOURSE_DATA_DIR``, else ``<checkout>/data`` in a checkout,
    else ``$XDG_CACHE_HOME/dlcourse`` (``~/.cache/dlcourse``) for an installed package."""
    chosen = env("DLCOURSE_DATA_DIR")
    if chosen:
        return Path(chosen).expanduser()
    if IN_CHECKOUT:
        return CHECKOUT_DIR / "data"
    return Path(env("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "dlcourse"


def mirror_dir() -> Path | None:
    """The offline mirror named by ``$DLCOURSE_DATA_MIRROR``, if any."""
    value = env("DLCOURSE_DATA_MIRROR")
    return Path(value).expanduser().resolve() if value else None


def manifest_path() -> Path:
    """The dataset manifest: ``$DLCOURSE_MANIFEST`` or the one shipped in the package."""
    value = env("DLCOURSE_MANIFEST")
    return Path(value).expanduser() if value else MANIFEST


def download_deadline() -> float:
    """Seconds one download may take in all: ``$DLCOURSE_DOWNLOAD_DEADLINE`` or 900."""
    value = env("DLCOURSE_DOWNLOAD_DEADLINE")
    try:
        seconds = float(value) if value else 900.0
    except ValueError:
        raise SettingError(f"DLCOURSE_DOWNLOAD_DEADLINE={value!r} is not a number of seconds") \
            from None
    if not seconds > 0:
        raise SettingError(f"DLCOURSE_DOWNLOAD_DEADLINE={value!r} must be positive")
    return seconds


def results_path() -> Path:
    """Where ``report.record`` stores results: ``$DLCOURSE_RESULTS`` or build/results.json."""
    value = env("DLCOURSE_RESULTS")
    return Path(value).expanduser() if value else PROJECT_ROOT / "build" / "results.json"


def strict_checks() -> bool:
    """In strict mode (tests, ``make course``) a wrong exercise answer raises."""
    return switch("DLCOURSE_STRICT")
