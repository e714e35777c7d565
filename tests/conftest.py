import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "remote"))  # dlremote: the remote tool, and the one free_port


@pytest.fixture(autouse=True)
def _isolated_results(tmp_path, monkeypatch):
    """No test writes into the real build/results.json."""
    monkeypatch.setenv("DLCOURSE_RESULTS", str(tmp_path / "results.json"))


@pytest.fixture
def data_cache(tmp_path, monkeypatch):
    """An empty download cache and no mirror, for data-layer tests."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("DLCOURSE_DATA_DIR", str(cache))
    monkeypatch.delenv("DLCOURSE_DATA_MIRROR", raising=False)
    return cache


def pytest_collection_modifyitems(items):
    """End-to-end tests (a real sshd, JupyterLab, a hub) take seconds to minutes each: they
    count as slow, so that `pytest -m "not slow"` stays the one-minute inner loop."""
    for item in items:
        if item.get_closest_marker("e2e") or item.get_closest_marker("hub"):
            item.add_marker(pytest.mark.slow)
