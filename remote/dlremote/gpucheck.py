"""The GPU check: nvidia-smi and TensorFlow's GPU list, in the course environment."""

from __future__ import annotations

from dlremote import RemoteError, scripts, sshcmd, suggest


def gpu_report(target, venv, remote_dir, control=None, out=print) -> str | None:
    """Print nvidia-smi and TensorFlow's GPU list; return a problem (one line) or None."""
    proc = sshcmd.run_script(target, scripts.gpu(venv, remote_dir), control=control,
                             timeout=300, what="the GPU check")
    found = scripts.markers(proc.stdout)
    for line in proc.stdout.splitlines():
        if not line.startswith("DLREMOTE_"):
            out(line)
    where = target.label
    if "NOSMI" in found:
        return (f"no NVIDIA driver on {where} (nvidia-smi not found): pick a GPU instance with "
                "a GPU image (e.g. an AWS Deep Learning AMI) or install the NVIDIA driver")
    if found.get("SMI_STATUS", ["0"])[0] != "0":
        return f"nvidia-smi failed on {where}: the NVIDIA driver is not loaded (reboot?)"
    if "NOPYTHON" in found:
        return (f"no course environment at {found['NOPYTHON'][0]} on {where}: "
                f"run `{suggest('setup', target.destination)}` first")
    if "TF" not in found:  # TensorFlow's own chatter is shown only when it failed
        for line in found.get("TFOUT", [])[-15:]:
            out(line)
        last = (found.get("TFOUT") or ["(no output)"])[-1].strip()
        return f"TensorFlow does not import on {where}: {last}"
    version, count = found["TF"][0].split()[:2]
    names = [detail.split(None, 1)[-1] for detail in found.get("TFGPU", [])]
    out(f"TensorFlow {version} sees {count} GPU(s)" + (": " + ", ".join(names) if names else ""))
    if count == "0":
        return (f"nvidia-smi works on {where} but TensorFlow sees no GPU: the environment needs "
                f"tensorflow[and-cuda] (run `{suggest('setup', target.destination)}` again) and a "
                "recent driver")
    return None


def gpu(host: str, settings: dict, out=print) -> int:
    target = sshcmd.connect(host, settings)
    problem = gpu_report(target, settings["venv"], settings["remote_dir"], out=out)
    if problem:
        raise RemoteError(problem)
    return 0
