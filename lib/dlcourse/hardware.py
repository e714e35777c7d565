"""What machine the course runs on: CPU model, core count, GPUs."""

import functools
import os
import platform
import shutil
import subprocess
import sys

__all__ = ["cpu_count", "cpu_flags", "cpu_model", "gpu_name", "gpus", "mixed_precision_policy",
           "summary"]


@functools.cache
def cpu_model() -> str:
    """The CPU's marketing name (from /proc/cpuinfo or sysctl), else the architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                             capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    return platform.processor() or platform.machine()


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The instruction-set flags /proc/cpuinfo lists (empty where there is no such file)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_count() -> int:
    """Cores this process may use (respects affinity masks on Linux)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@functools.cache
def gpus() -> tuple[dict, ...]:
    """One dict per GPU with ``name`` and ``memory_mib`` (None when unknown).

    Asks ``nvidia-smi`` first (fast, no TensorFlow import); falls back to
    TensorFlow's device list when TensorFlow is already imported.
    """
    if shutil.which("nvidia-smi"):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=30,
        )
        if out.returncode == 0:
            rows = [line.split(",") for line in out.stdout.strip().splitlines() if line.strip()]
            return tuple({"name": name.strip(), "memory_mib": int(float(mem))}
                         for name, mem in rows)
    if "tensorflow" in sys.modules:
        tf = sys.modules["tensorflow"]
        found = []
        for device in tf.config.list_physical_devices("GPU"):
            details = tf.config.experimental.get_device_details(device)
            found.append({"name": details.get("device_name", device.name), "memory_mib": None})
        return tuple(found)
    return ()


def gpu_name() -> str | None:
    found = gpus()
    return found[0]["name"] if found else None


def mixed_precision_policy() -> str:
    """The Keras dtype policy that trains fastest here without losing accuracy.

    "mixed_float16" on a GPU (tensor cores; Keras adds loss scaling itself),
    "mixed_bfloat16" on a CPU with bfloat16 instructions (AVX-512 BF16 or AMX),
    else "float32": emulated half precision would be slower than float32.
    """
    if gpus():
        return "mixed_float16"
    if cpu_flags() & {"avx512_bf16", "amx_bf16"}:
        return "mixed_bfloat16"
    return "float32"


def summary() -> dict:
    """The hardware fields stored with every recorded result."""
    return {"cpu": cpu_model(), "cores": cpu_count(), "gpu": gpu_name()}
