"""Speed of conv2d: naive loops vs im2col vs tf.nn.conv2d vs np.matmul, forward and backward.

Two layers:
  (a) x 100x31x31x3, w 3x3x3x25, stride 2, padding 1 (a small first layer):
      naive loops against im2col (the naive method runs on the first images and
      filters only and is scaled up; its time is linear in both).
  (b) x 16x56x56x64, w 3x3x64x64, stride 1, SAME (a ResNet-sized middle layer):
      im2col against tf.nn.conv2d (forward and backward) and against np.matmul on the
      very matrix shapes im2col multiplies (and on two square 1024 matrices).

Case (b) is measured in interleaved rounds: each round times every contender once,
in a rotating order, so a slow spell of a shared machine hits all of them; every
ratio is taken per round and reported as the median and the range over the rounds.
NumPy's BLAS and TensorFlow get the same number of threads (--threads, default 1:
on a machine shared with other work, one thread each is the comparison that does
not depend on who else is running). With one thread the clock is the process's CPU
time (--clock cpu), which does not charge a contender for waiting for a core.
Every timed method is also checked against TensorFlow's result.

    .venv/bin/python benchmarks/conv.py            # about a minute
    .venv/bin/python benchmarks/conv.py --json     # last line: one JSON object
Goals: naive/im2col >= 1000 on (a); on (b), as medians: im2col/TF <= 1.5 forward and
backward, im2col GFLOP/s >= 60% of the faster matmul's. Exits 1 when a goal is missed.
"""

import argparse
import os
import sys

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _thread_count(argv) -> str:
    """The --threads value (default "1"), read before NumPy loads its BLAS."""
    for i, arg in enumerate(argv):
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
    return "1"


if __name__ == "__main__":
    for _name in BLAS_THREAD_VARIABLES:     # NumPy reads these once, when it loads
        os.environ[_name] = _thread_count(sys.argv[1:])

import numpy as np  # noqa: E402  (after the thread count is set)

CASES = {
    "a": dict(x=(100, 31, 31, 3), w=(3, 3, 3, 25), stride=2, padding=1),
    "b": dict(x=(16, 56, 56, 64), w=(3, 3, 64, 64), stride=1, padding="SAME"),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds on case b")
    parser.add_argument("--naive-items", type=int, default=10,
                        help="images of case a the naive method runs on (then scaled)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--tf-device", default="/CPU:0", help="TensorFlow device (default CPU)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for NumPy's BLAS and for TensorFlow's ops alike")
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None,
                        help="cpu: process CPU time (default with one thread); wall otherwise")
    return parser.parse_args(argv)


def _arrays(spec, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(spec["x"]).astype(dtype)
    w = (rng.standard_normal(spec["w"]) / np.sqrt(np.prod(spec["w"][:3]))).astype(dtype)
    return x, w


def case_a(args, dtype, clock):
    """naive / im2col on the small first layer, forward and backward (naive scaled)."""
    from dlcourse import conv

    spec = CASES["a"]
    x, w = _arrays(spec, dtype)
    rows = conv.time_conv(x, w, spec["stride"], spec["padding"], methods=("naive", "im2col"),
                          directions=("forward", "backward"), naive_items=args.naive_items,
                          repeat=3, device=args.tf_device, clock=clock)
    t = {(r.method, r.direction): r for r in rows}
    print(f"case a: x {spec['x']}, w {spec['w']}, stride {spec['stride']}, padding "
          f"{spec['padding']!r} (naive {t['naive', 'forward'].describe_scaling() or 'whole'})")
    for (method, direction), r in t.items():
        print(f"  {method:<7} {direction:<9} {r.seconds * 1e3:12.3f} ms   "
              f"rel. error vs TF {r.max_error:.1e}")
    worst = max(r.max_error for r in rows)
    return {d: t["naive", d].seconds / t["im2col", d].seconds for d in ("forward", "backward")}, \
        worst


def case_b(args, dtype, clock):
    """im2col vs TF vs matmul on the middle layer, interleaved rounds."""
    from dlcourse import conv

    spec = CASES["b"]
    x, w = _arrays(spec, dtype)
    result = conv.compare_with_tf(x, w, spec["stride"], spec["padding"], rounds=args.rounds,
                                  device=args.tf_device, clock=clock)
    a_shape, b_shape = result["matmul_shapes"]
    print(f"\ncase b: x {spec['x']}, w {spec['w']}, stride {spec['stride']}, padding "
          f"{spec['padding']!r}; im2col's product {a_shape} @ {b_shape}; {args.rounds} rounds")
    for name, rate in result["gflops"].items():
        seconds = np.median(result["seconds"][name])
        print(f"  {name:<22} {seconds * 1e3:10.2f} ms  {rate:8.1f} GFLOP/s (medians)")
    for name, r in result["ratios"].items():
        print(f"  {name:<22} {r}")
    return result


def main(argv=None) -> int:
    import time

    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from dlcourse import hardware, report

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    clock_name = args.clock or ("cpu" if args.threads == 1 else "wall")
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    dtype = np.dtype(args.dtype).type
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"conv2d benchmark on {hardware.cpu_model()} ({hardware.cpu_count()} cores, load "
          f"{load:.1f}), NumPy {np.__version__}, TensorFlow {tf.__version__} on {args.tf_device},"
          f" {args.threads} thread(s) each, {clock_name} clock, {args.dtype}\n")
    naive_over_im2col, worst_a = case_a(args, dtype, clock)
    b = case_b(args, dtype, clock)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    if max(worst_a, b["max_error"]) > tol:
        raise SystemExit(f"a method differs from TensorFlow by {max(worst_a, b['max_error']):.3g}")

    entry = report.benchmark_entry
    rounds = f"median of {args.rounds} rounds"
    entries = [
        entry("conv", "naive/im2col forward (a)", naive_over_im2col["forward"], "x",
              goal=(">=", 1000)),
        entry("conv", "naive/im2col backward (a)", naive_over_im2col["backward"], "x"),
    ]
    goals = {"im2col/tf forward": ("<=", 1.5), "im2col/tf backward": ("<=", 1.5),
             "im2col/matmul GFLOP/s": (">=", 0.6)}
    for name, r in b["ratios"].items():
        unit = "fraction" if "GFLOP" in name else "x"
        entries += [entry("conv", f"{name} (b), {rounds}", r.median, unit, goal=goals[name]),
                    entry("conv", f"{name} (b), lowest round", r.low, unit),
                    entry("conv", f"{name} (b), highest round", r.high, unit)]
    entries += [entry("conv", f"{name} (b), median", rate, "GFLOP/s")
                for name, rate in b["gflops"].items()]
    print()
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
