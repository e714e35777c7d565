"""Speed of conv2d: naive loops vs vectorized vs im2col vs tf.nn.conv2d, forward and backward.

Two shapes, both measured in one run:
  (a) x 100x31x31x3, w 3x3x3x25, stride 2, padding 1 (a small first layer)
  (b) x 16x56x56x64, w 3x3x64x64, stride 1, SAME (a ResNet-sized middle layer)

Every timed result is also compared with TensorFlow's. The naive method runs on
the first few images only (its time is linear in the batch) and is scaled to the
whole batch; the output says so. The FLOP rate of im2col on (b) is compared with a
plain np.matmul of the very matrix shapes im2col multiplies and with a square 1024
one; the headline ratio uses the faster of the two.

    .venv/bin/python benchmarks/conv.py            # about a minute on 2 cores
    .venv/bin/python benchmarks/conv.py --json     # last line: one JSON object
TensorFlow runs on the CPU (like NumPy) unless --tf-device names another device.
On a machine shared with other work, multithreaded BLAS can stall (its threads wait for
a core); --blas-threads 1 gives NumPy and TensorFlow one thread each, a fairer comparison there.
Goals on a 2-core machine: naive/im2col >= 1000 on (a), im2col/tf <= 3 forward on (b),
im2col GFLOP/s >= 40% of matmul's.
"""

import argparse
import json
import os
import sys

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _set_blas_threads(argv):
    """Honour --blas-threads N before NumPy loads its BLAS (it reads these variables once)."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--blas-threads=") else (
            argv[i + 1] if arg == "--blas-threads" and i + 1 < len(argv) else None)
        if value:
            for name in BLAS_THREAD_VARIABLES:
                os.environ[name] = value


if __name__ == "__main__":
    _set_blas_threads(sys.argv[1:])

import numpy as np  # noqa: E402  (after the thread count is set)

CASES = {
    "a": dict(x=(100, 31, 31, 3), w=(3, 3, 3, 25), stride=2, padding=1),
    "b": dict(x=(16, 56, 56, 64), w=(3, 3, 64, 64), stride=1, padding="SAME"),
}
GOALS = {"naive_over_im2col_forward": (">=", 1000), "im2col_over_tf_forward": ("<=", 3),
         "im2col_gflops_over_matmul_gflops": (">=", 0.4)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--repeat", type=int, default=5, help="best of this many rounds")
    parser.add_argument("--naive-items", type=int, nargs=2, default=(10, 1), metavar=("A", "B"),
                        help="images of case a and b the naive method runs on (then scaled)")
    parser.add_argument("--naive-filters", type=int, nargs=2, default=(25, 8),
                        metavar=("A", "B"),
                        help="filters of case a and b the naive method runs on (then scaled)")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--tf-device", default="/CPU:0", help="TensorFlow device (default CPU)")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="threads for NumPy's BLAS and TensorFlow's ops (default: all cores)")
    return parser.parse_args(argv)


def run_case(name, spec, args, dtype):
    from dlcourse import conv

    rng = np.random.default_rng(0)
    x = rng.standard_normal(spec["x"]).astype(dtype)
    w = (rng.standard_normal(spec["w"]) / np.sqrt(np.prod(spec["w"][:3]))).astype(dtype)
    index = 0 if name == "a" else 1
    rows = conv.time_conv(x, w, spec["stride"], spec["padding"],
                               directions=("forward", "backward"),
                               naive_items=args.naive_items[index],
                               naive_filters=args.naive_filters[index],
                               repeat=args.repeat, device=args.tf_device)
    t = {(r.method, r.direction): r for r in rows}
    flops = conv.conv2d_flops(x.shape, w.shape, spec["stride"], spec["padding"])
    print(f"\ncase {name}: x {spec['x']}, w {spec['w']}, stride {spec['stride']}, "
          f"padding {spec['padding']!r}, {dtype.__name__}, {flops / 1e9:.3f} GFLOP forward")
    print(f"  {'method':<11}{'forward ms':>12}{'backward ms':>13}{'fwd GFLOP/s':>13}"
          f"{'rel. err vs TF':>16}")
    for method in conv.TIMED_METHODS:
        f, b = t[method, "forward"], t[method, "backward"]
        note = f"  ({f.describe_scaling()})" if f.scaled else ""
        print(f"  {method:<11}{f.seconds * 1e3:12.3f}{b.seconds * 1e3:13.3f}"
              f"{flops / f.seconds / 1e9:13.2f}{max(f.max_error, b.max_error):16.2e}{note}")
    tol = 1e-4 if dtype == np.float32 else 1e-12
    worst = max(r.max_error for r in rows)
    if worst > tol:
        raise SystemExit(f"case {name}: a method differs from TensorFlow by {worst:.3g} (relative)")
    result = {"flops_forward": flops,
              "seconds": {f"{m}_{d}": r.seconds for (m, d), r in t.items()},
              "naive_timed_on": t["naive", "forward"].describe_scaling() or "everything"}
    for d in ("forward", "backward"):
        result[f"naive_over_im2col_{d}"] = t["naive", d].seconds / t["im2col", d].seconds
        result[f"vectorized_over_im2col_{d}"] = t["vectorized", d].seconds / t["im2col", d].seconds
        result[f"im2col_over_tf_{d}"] = t["im2col", d].seconds / t["tf", d].seconds
    result["im2col_gflops"] = flops / t["im2col", "forward"].seconds / 1e9
    return result


def matmul_reference(spec, dtype, repeat):
    """GFLOP/s of np.matmul on im2col's own matrix shapes, and on two square matrices."""
    from dlcourse import core, timing

    n, h, w_, c = spec["x"]
    kh, kw, _, o = spec["w"]
    oh = core.output_size(h, kh, spec["stride"], spec["padding"])
    ow = core.output_size(w_, kw, spec["stride"], spec["padding"])
    rng = np.random.default_rng(1)
    a = rng.standard_normal((n * oh * ow, kh * kw * c)).astype(dtype)
    b = rng.standard_normal((kh * kw * c, o)).astype(dtype)
    out = np.empty((a.shape[0], o), dtype)
    seconds = timing.best_time(lambda: np.matmul(a, b, out=out), repeat=repeat)
    same_shape = timing.matmul_flops(*a.shape, o) / seconds / 1e9
    return same_shape, timing.matmul_gflops(1024, dtype, repeat), a.shape, b.shape


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from dlcourse import hardware

    dtype = np.dtype(args.dtype).type
    if args.blas_threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.blas_threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"conv2d benchmark on {hardware.cpu_model()} ({hardware.cpu_count()} cores), "
          f"NumPy {np.__version__}, TensorFlow on {args.tf_device}, "
          f"threads: {args.blas_threads or 'all'}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    busy = load > hardware.cpu_count()
    print(f"load average {load:.1f}" + ("  (busy machine: multithreaded BLAS may stall; "
                                         "consider --blas-threads 1)" if busy else ""))
    cases = {name: run_case(name, spec, args, dtype) for name, spec in CASES.items()}
    mm_same, mm_square, a_shape, b_shape = matmul_reference(CASES["b"], dtype, args.repeat)
    a, b = cases["a"], cases["b"]
    summary = {
        "naive_over_im2col_forward": a["naive_over_im2col_forward"],
        "naive_over_im2col_backward": a["naive_over_im2col_backward"],
        "im2col_over_tf_forward": b["im2col_over_tf_forward"],
        "im2col_over_tf_backward": b["im2col_over_tf_backward"],
        # Against the faster of the two products: the stricter comparison.
        "im2col_gflops_over_matmul_gflops": b["im2col_gflops"] / max(mm_same, mm_square),
        "im2col_gflops_over_same_shape_matmul_gflops": b["im2col_gflops"] / mm_same,
        "im2col_gflops_over_square_matmul_gflops": b["im2col_gflops"] / mm_square,
        "matmul_gflops_same_shape": mm_same,
        "matmul_gflops_square_1024": mm_square,
    }
    print(f"\nnp.matmul {a_shape} @ {b_shape} (im2col's product on b): {mm_same:.1f} GFLOP/s; "
          f"square 1024: {mm_square:.1f} GFLOP/s")
    print("\nratios (measured in this run)")
    for key, value in summary.items():
        goal = GOALS.get(key)
        verdict = ""
        if goal:
            met = value >= goal[1] if goal[0] == ">=" else value <= goal[1]
            verdict = f"   goal {goal[0]} {goal[1]}: {'met' if met else 'MISSED'}"
        print(f"  {key:<46}{value:12.3f}{verdict}")
    print(f"  (naive on a: {a['naive_timed_on']}; on b: {b['naive_timed_on']}; "
          "its time is linear in both)")
    if args.json:
        summary.update(cases=cases, dtype=args.dtype, tf_device=args.tf_device,
                       threads=args.blas_threads, load_average=load,
                       cores=hardware.cpu_count(), cpu=hardware.cpu_model())
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    sys.exit(None if main() else 1)
