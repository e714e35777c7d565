"""Lesson 08's models: counted MACs against the measured time of a training step.

Builds the plain encoder, SumNet and the recombinator, counts their per-face MACs with
dlcourse.opcount, times one compiled training step (forward + backward + Adam update)
on a batch of synthetic faces, and prints each model's MAC and time ratio to the plain
encoder, all measured in this one run. --json prints one JSON object on the last line.

    python benchmarks/keypoints.py [--batch 32] [--repeat 3] [--json]
"""

import argparse
import sys

from dlcourse import opcount, report, timing
from dlcourse.keypoints import make_faces, masked_mse, models, scale_targets


def step_seconds(model, x, y, repeat: int) -> float:
    """Best wall-clock seconds of one ``train_on_batch`` call."""
    import keras

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
    rows = {}
    for name, build in builders.items():
        model = build()
        rows[name] = (opcount.count(model).macs, step_seconds(model, x, y, args.repeat))
    base_macs, base_time = rows["plain"]
    print(f"{'model':>7} {'MACs/face':>12} {'ms/step':>9} {'MAC ratio':>10} {'time ratio':>11}")
    entries = []
    for name, (macs, seconds) in rows.items():
        print(f"{name:>7} {macs:>12,} {seconds * 1e3:>9.1f} {macs / base_macs:>10.2f} "
              f"{seconds / base_time:>11.2f}")
        if name != "plain":
            entries += [
                report.benchmark_entry("keypoints", f"{name}/plain MACs per face",
                                       macs / base_macs, "x"),
                report.benchmark_entry("keypoints", f"{name}/plain training step, "
                                       f"batch {args.batch}", seconds / base_time, "x")]
    entries.append(report.benchmark_entry(
        "keypoints", "RCN training rate", args.batch / rows["RCN"][1], "faces/s"))
    print()
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
