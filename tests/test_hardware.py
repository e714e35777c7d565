import os
import stat
import sys

import pytest

from dlcourse import hardware


@pytest.fixture
def fresh_cache():
    hardware.gpus.cache_clear()
    yield
    hardware.gpus.cache_clear()


def fake_nvidia_smi(folder, output):
    script = folder / "nvidia-smi"
    script.write_text(f"#!/bin/sh\nprintf '{output}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_gpus_parsed_from_nvidia_smi(tmp_path, monkeypatch, fresh_cache):
    fake_nvidia_smi(tmp_path, "NVIDIA H100 80GB HBM3, 81559\\nNVIDIA T4, 15360\\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert hardware.gpus() == ({"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559},
                               {"name": "NVIDIA T4", "memory_mib": 15360})
    assert hardware.summary()["gpu"] == "NVIDIA H100 80GB HBM3"


def test_no_gpu_when_nvidia_smi_is_absent(tmp_path, monkeypatch, fresh_cache):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no nvidia-smi
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert hardware.gpus() == ()
    assert hardware.gpu_name() is None


def test_cpu_fields():
    summary = hardware.summary()
    assert summary["cpu"] and isinstance(summary["cpu"], str)
    assert 1 <= summary["cores"] <= (os.cpu_count() or 1)
