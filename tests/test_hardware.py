import os
import stat
import sys

import pytest

from dlcourse import hardware


@pytest.fixture
def fresh_cache():
    hardware.gpus.cache_clear()
    hardware.cpu_flags.cache_clear()
    yield
    hardware.gpus.cache_clear()
    hardware.cpu_flags.cache_clear()


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


@pytest.mark.parametrize("gpu, flags, policy", [
    (True, set(), "mixed_float16"),
    (False, {"avx2", "avx512_bf16"}, "mixed_bfloat16"),
    (False, {"amx_bf16"}, "mixed_bfloat16"),
    (False, {"avx2", "fma"}, "float32"),
])
def test_mixed_precision_policy_follows_the_hardware(monkeypatch, gpu, flags, policy):
    gpu_list = ({"name": "NVIDIA T4", "memory_mib": 15360},) if gpu else ()
    monkeypatch.setattr(hardware, "gpus", lambda: gpu_list)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset(flags))
    assert hardware.mixed_precision_policy() == policy


def test_cpu_flags_match_proc_cpuinfo(fresh_cache):
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith("flags")]
    except OSError:
        lines = []
    expected = frozenset(lines[0].split(":", 1)[1].split()) if lines else frozenset()
    assert hardware.cpu_flags() == expected
