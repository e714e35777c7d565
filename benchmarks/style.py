"""Style transfer speed and optimisers: seconds per Adam step by image size and network,
and Adam vs L-BFGS loss after the same number of gradient evaluations.

    python benchmarks/style.py                    # 128/256/512 px, VGG16 (+ VGG19 if at hand)
    python benchmarks/style.py --sizes 128 256    # fewer sizes
    python benchmarks/style.py --json             # ... and one JSON object on the last line

One step is one forward and backward pass through the network up to conv5_1 (the
paper's layers: style conv1_1 ... conv5_1, content conv4_2). Seconds per step are
the median over ``--steps`` steps after a first one that includes tracing. VGG19 is
measured only when its weights are cached or mirrored (``--download`` allows fetching
them). Everything is measured in one run, so machine load affects every row alike;
ratios are the numbers to compare across machines.

Goal: a step's cost grows no faster than the pixel count (each size's seconds per step
over the first size's is at most GOAL_SCALING times their pixel ratio; convolutions are
linear in pixels, so only overheads can break it). The race has no goal: which optimiser
wins depends on the budget, which is what lesson 06 shows. Exits 1 when a goal is missed.
"""

import argparse
import sys

import numpy as np

from dlcourse import data, report, style

GOAL_SCALING = 1.25  # step-time ratio over pixel ratio, at most


def seconds_per_step(net: str, size: int, steps: int) -> float:
    content = style.content_image("astronaut", size)
    painting = style.style_image("great_wave", size)
    _, hist = style.transfer(content, painting, steps + 1, size=size, net=net, progress=False)
    return float(np.median(np.diff(hist["seconds"])))


def race(size: int, budget: int) -> dict:
    """Best total loss after ``budget`` gradient evaluations, Adam (lr 5 and 10) vs L-BFGS."""
    content = style.content_image("astronaut", size)
    painting = style.style_image("great_wave", size)
    out = {}
    for label, optimizer, lr in [("adam_lr5", "adam", 5.0), ("adam_lr10", "adam", 10.0),
                                 ("lbfgs", "lbfgs", 1.0)]:
        _, hist = style.transfer(content, painting, budget, optimizer=optimizer, size=size,
                                 learning_rate=lr, seed=1, progress=False)
        out[label] = float(hist["best"][-1])
    out["lbfgs_over_best_adam"] = out["lbfgs"] / min(out["adam_lr5"], out["adam_lr10"])
    return out


def parser() -> argparse.ArgumentParser:
    """The command line (lesson 06 quotes the --budget default)."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    cli.add_argument("--steps", type=int, default=5, help="timed steps per size")
    cli.add_argument("--budget", type=int, default=50, help="evaluations per optimiser")
    cli.add_argument("--race-size", type=int, default=128)
    cli.add_argument("--download", action="store_true", help="download VGG19 if missing")
    cli.add_argument("--json", action="store_true", help="print a JSON summary last")
    return cli


def main(argv=None) -> int:
    args = parser().parse_args(argv)

    nets = ["vgg16"]
    try:
        style.weights_path("vgg19", download=args.download)
        nets.append("vgg19")
    except data.MissingDataError as err:
        print(f"VGG19 not measured: {err}")

    entries, timings, smallest = [], {net: {} for net in nets}, args.sizes[0]
    for net in nets:
        for size in args.sizes:
            timings[net][size] = seconds_per_step(net, size, args.steps)
            entries.append(report.benchmark_entry(
                "style", f"{net} {size} px, seconds per Adam step", timings[net][size], "s"))
            if size != smallest:
                scaling = (timings[net][size] / timings[net][smallest]) / (size / smallest) ** 2
                entries.append(report.benchmark_entry(
                    "style", f"{net} {size} px over {smallest} px step, per pixel", scaling, "x",
                    goal=("<=", GOAL_SCALING)))
    if "vgg19" in timings:
        for size in args.sizes:
            entries.append(report.benchmark_entry(
                "style", f"VGG19 / VGG16 step at {size} px",
                timings["vgg19"][size] / timings["vgg16"][size], "x"))

    result = race(args.race_size, args.budget)
    where = f"after {args.budget} gradient evaluations at {args.race_size} px"
    for label, key in (("Adam lr 5", "adam_lr5"), ("Adam lr 10", "adam_lr10"),
                       ("L-BFGS", "lbfgs")):
        entries.append(report.benchmark_entry("style", f"{label} loss {where}", result[key]))
    entries.append(report.benchmark_entry("style", f"L-BFGS / best Adam loss {where}",
                                          result["lbfgs_over_best_adam"], "x"))
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
