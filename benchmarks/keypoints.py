"""Lesson 08's models: counted MACs against the measured time of a training step.

Builds the plain encoder, SumNet and the recombinator, counts their per-face MACs with
dlcourse.opcount, times one compiled training step (forward + backward + Adam update)
on a batch of synthetic faces, and prints each model's MAC and time ratio to the plain
encoder, all measured in this one run. Where this machine has a faster mixed-precision
policy (bfloat16 on a CPU that has it, float16 on a GPU), each step is also timed in that
policy and its time ratio to float32 printed. Lesson 08 trains in float32. (A bfloat16
trial that stopped the plain encoder early on was run before its dense layer was
normalised; bfloat16 has not been measured again since.) --json prints one JSON object
on the last line.

Goal: counted MACs predict the training step's cost within GOAL_MAC_TIME: for SumNet and
the RCN, the time ratio to the plain encoder over the MAC ratio is at most that (lesson 08
uses the counts to explain the models' costs). Exits 1 when a goal is missed.

    python benchmarks/keypoints.py [--batch 32] [--repeat 3] [--json]
"""

import argparse
import sys

from dlcourse import hardware, opcount, report, timing
from dlcourse.keypoints import make_faces, masked_mse, models, scale_targets

GOAL_MAC_TIME = 2.0


def step_seconds(build, x, y, repeat: int, policy: str = "float32") -> float:
    """Best wall-clock seconds of one ``train_on_batch`` call of ``build()`` in ``policy``."""
    import keras

    keras.mixed_precision.set_global_policy(policy)  # read by each layer as it is built
    try:
        model = build()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.compile(keras.optimizers.Adam(1e-3), loss=masked_mse)
    return timing.best_time(lambda: model.train_on_batch(x, y), repeat=repeat, min_seconds=0.2)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)

    x, k = make_faces(args.batch, seed=0)
    y = scale_targets(k)
    builders = {"plain": models.plain_encoder, "SumNet": models.sumnet,
                "RCN": models.recombinator}
    mixed = hardware.mixed_precision_policy()
    rows = {}
    for name, build in builders.items():
        rows[name] = (opcount.count_ops(build()).macs, step_seconds(build, x, y, args.repeat),
                      None if mixed == "float32" else step_seconds(build, x, y, args.repeat, mixed))
    base_macs, base_time, _ = rows["plain"]
    print(f"{'model':>7} {'MACs/face':>12} {'ms/step':>9} {'MAC ratio':>10} {'time ratio':>11}"
          + ("" if mixed == "float32" else f" {mixed + ' ms/step':>22} {'/float32':>9}"))
    entries = []
    for name, (macs, seconds, mixed_seconds) in rows.items():
        print(f"{name:>7} {macs:>12,} {seconds * 1e3:>9.1f} {macs / base_macs:>10.2f} "
              f"{seconds / base_time:>11.2f}"
              + ("" if mixed_seconds is None
                 else f" {mixed_seconds * 1e3:>22.1f} {mixed_seconds / seconds:>9.2f}"))
        if mixed_seconds is not None:
            entries.append(report.benchmark_entry(
                "keypoints", f"{name} training step, {mixed}/float32", mixed_seconds / seconds,
                "x"))
        if name != "plain":
            entries += [
                report.benchmark_entry("keypoints", f"{name}/plain MACs per face",
                                       macs / base_macs, "x"),
                report.benchmark_entry("keypoints", f"{name}/plain training step, "
                                       f"batch {args.batch}", seconds / base_time, "x"),
                report.benchmark_entry("keypoints", f"{name}: time ratio over MAC ratio",
                                       (seconds / base_time) / (macs / base_macs), "x",
                                       goal=("<=", GOAL_MAC_TIME))]
    entries.append(report.benchmark_entry(
        "keypoints", "RCN training rate", args.batch / rows["RCN"][1], "faces/s"))
    print()
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
