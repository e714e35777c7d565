"""Capsule predictions (batch 50, 1152×8 → 10×16): tiling vs broadcasting vs einsum.

Prints seconds per call (best of --repeat), the speed-up of each method over
tile + matmul measured in this one run, and the peak memory NumPy allocated
(tracemalloc). With --tf, the same comparison in TensorFlow (on its GPU when
one is visible). --json prints one JSON object on the last line (the shared
benchmark schema of ``dlcourse.report``).

Goals (lesson 03's point: one einsum instead of tiling copies): NumPy's einsum is at least
GOAL_EINSUM_SPEEDUP times faster than tile + matmul and needs at most GOAL_EINSUM_MEMORY of
its peak memory. Exits 1 when a goal is missed.

    python benchmarks/capsules.py [--batch 50] [--repeat 3] [--tf] [--json]
"""

import argparse
import sys

import numpy as np

from dlcourse import dense, report, timing

GOAL_EINSUM_SPEEDUP = 2.0
GOAL_EINSUM_MEMORY = 0.25


def numpy_results(u, w, repeat):
    seconds, peaks, reference = {}, {}, None
    for name, fn in dense.CAPSULE_METHODS.items():
        result, peaks[name] = dense.peak_memory(lambda fn=fn: fn(u, w))
        if reference is None:
            reference = result
        err = float(np.abs(result - reference).max())
        if err > 1e-4:
            raise AssertionError(f"{name} differs from tile + matmul by {err}")
        seconds[name] = timing.best_time(lambda fn=fn: fn(u, w), repeat=repeat, min_seconds=0)
    return seconds, peaks


def tensorflow_results(u, w, repeat):
    import tensorflow as tf

    u_t, w_t = tf.constant(u), tf.constant(w)
    batch, n_out = u.shape[0], w.shape[1]
    methods = {
        "tile + matmul": lambda: tf.matmul(
            tf.tile(w_t[tf.newaxis], [batch, 1, 1, 1, 1]),
            tf.tile(u_t[:, :, tf.newaxis, :, tf.newaxis], [1, 1, n_out, 1, 1]))[..., 0],
        "broadcast multiply + sum": lambda: tf.reduce_sum(
            w_t[tf.newaxis] * u_t[:, :, tf.newaxis, tf.newaxis, :], axis=-1),
        "broadcast matmul": lambda: tf.matmul(
            w_t[tf.newaxis], u_t[:, :, tf.newaxis, :, tf.newaxis])[..., 0],
        "einsum": lambda: tf.einsum("ijkl,bil->bijk", w_t, u_t),
    }
    reference = dense.predict_einsum(u, w)
    seconds = {}
    for name, fn in methods.items():
        err = float(np.abs(fn().numpy() - reference).max())
        if err > 1e-4:
            raise AssertionError(f"TensorFlow {name} differs from NumPy einsum by {err}")
        # .numpy() waits for the device, so GPU times are complete
        seconds[name] = timing.best_time(lambda fn=fn: fn().numpy(), repeat=repeat, min_seconds=0)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    return seconds, device


def speedups(seconds):
    base = seconds["tile + matmul"]
    return {name: base / s for name, s in seconds.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tf", action="store_true", help="also time TensorFlow")
    parser.add_argument("--json", action="store_true", help="JSON object on the last line")
    args = parser.parse_args(argv)

    u, w = dense.random_capsules(batch=args.batch)
    seconds, peaks = numpy_results(u, w, args.repeat)
    numpy_speedup = speedups(seconds)
    print(f"u {u.shape}, W {w.shape} -> u_hat {(args.batch, *w.shape[:3])}")
    print(f"{'NumPy method':26s} {'ms/call':>9s} {'speed-up':>9s} {'peak MB':>9s}")
    for name in seconds:
        print(f"{name:26s} {seconds[name] * 1e3:9.1f} {numpy_speedup[name]:8.1f}x "
              f"{peaks[name] / 1e6:9.1f}")
    entries = [report.benchmark_entry("capsules", f"NumPy {name}: speed-up over tile + matmul",
                                      numpy_speedup[name], "x") for name in seconds]
    entries += [report.benchmark_entry("capsules", f"NumPy {name}: peak memory",
                                       peaks[name] / 1e6, "MB") for name in seconds]
    entries += [
        report.benchmark_entry("capsules", "NumPy einsum over tile + matmul, speed",
                               numpy_speedup["einsum"], "x", goal=(">=", GOAL_EINSUM_SPEEDUP)),
        report.benchmark_entry("capsules", "NumPy einsum over tile + matmul, peak memory",
                               peaks["einsum"] / peaks["tile + matmul"], "x",
                               goal=("<=", GOAL_EINSUM_MEMORY))]
    if args.tf:
        tf_seconds, device = tensorflow_results(u, w, args.repeat)
        tf_speedup = speedups(tf_seconds)
        print(f"{'TensorFlow (' + device + ')':26s} {'ms/call':>9s} {'speed-up':>9s}")
        for name, s in tf_seconds.items():
            print(f"{name:26s} {s * 1e3:9.1f} {tf_speedup[name]:8.1f}x")
        entries += [report.benchmark_entry(
            "capsules", f"TensorFlow ({device}) {name}: speed-up over tile + matmul",
            tf_speedup[name], "x") for name in tf_seconds]
    print()
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
