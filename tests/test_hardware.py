import os
import stat
import sys

import pytest

from dlcourse import hardware

CACHED = (hardware.gpus, hardware.cpu_flags, hardware.cpu_model)


@pytest.fixture
def fresh_cache():
    for function in CACHED:
        function.cache_clear()
    yield
    for function in CACHED:
        function.cache_clear()


@pytest.fixture
def fake_cpuinfo(tmp_path, monkeypatch, fresh_cache):
    """Point the module's reads of /proc/cpuinfo at a file the test writes."""
    fake = tmp_path / "cpuinfo"
    real_open = open

    def open_fake(path, *args, **kwargs):
        return real_open(fake if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", open_fake)
    return fake


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


def test_cpu_fields_come_from_cpuinfo_and_the_affinity_mask(fake_cpuinfo, monkeypatch):
    fake_cpuinfo.write_text("processor\t: 0\nmodel name\t: Fake CPU 9000 @ 3.0GHz\n"
                            "flags\t\t: fpu avx2 avx512_bf16\n")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3}, raising=False)
    summary = hardware.summary()
    assert summary["cpu"] == "Fake CPU 9000 @ 3.0GHz"
    assert summary["cores"] == 2  # the two cores this process may use, not the machine's


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


def test_cpu_flags_are_read_from_cpuinfo(fake_cpuinfo):
    fake_cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 fma\n\n"
                            "processor\t: 1\nflags\t\t: fpu avx2 fma\n")
    assert hardware.cpu_flags() == frozenset({"fpu", "avx2", "fma"})


def test_no_flags_line_means_no_flags(fake_cpuinfo):
    fake_cpuinfo.write_text("processor\t: 0\nmodel name\t: Some ARM core\n")
    assert hardware.cpu_flags() == frozenset()
