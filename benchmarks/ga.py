"""The genetic algorithm's speed: one run on the 24-item P08, and vectorised vs loops.

    python benchmarks/ga.py            # tables and goals
    python benchmarks/ga.py --json     # ... and one JSON object on the last line

1. P08 (24 items, population 100), 30 seeds: seconds per run and success rate (the
   exact optimum found) for the full budget of 3000 generations, and for runs that
   stop on stagnation (``patience`` generations without a better solution). Goals:
   a stagnation-stopped run takes < 0.1 s of CPU time (median over the seeds; the
   wall-clock time is printed too) and finds the optimum as often as the full
   budget does.
2. ``solve_knapsack`` against ``solve_knapsack_loop`` (the same generations with
   the same random numbers, one gene at a time; the script checks that both give
   identical histories), so the ratio measures speed alone.

Measured in one run: machine load affects every contender alike, but absolute
seconds on a busy machine are inflated.
"""

import argparse
import statistics
import sys
import time

import numpy as np

from dlcourse import report
from dlcourse.ga import INSTANCES, compare_speed, random_instance, solve_knapsack

# (label, items, population); "P08" is the published 24-item instance
SIZES = [("P08", 24, 100), ("random", 100, 200), ("random", 200, 400)]


def p08_runs(seeds: int, patience: int | None, generations: int = 3000) -> dict:
    """Seconds per run (median, min, max) and success rate over ``seeds`` seeds on P08."""
    inst = INSTANCES["P08"]
    values, weights, capacity = inst.arrays()
    seconds, cpu, found, lengths = [], [], [], []
    for seed in range(seeds):
        start, start_cpu = time.perf_counter(), time.process_time()
        res = solve_knapsack(values, weights, capacity, generations=generations, seed=seed,
                             patience=patience)
        cpu.append(time.process_time() - start_cpu)
        seconds.append(time.perf_counter() - start)
        found.append(res.value == inst.optimum)
        lengths.append(res.history["best"].size)
    return {"patience": patience, "median_s": statistics.median(seconds), "min_s": min(seconds),
            "max_s": max(seconds), "median_cpu_s": statistics.median(cpu),
            "success": float(np.mean(found)), "median_generations": statistics.median(lengths)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    # 1000 lost one of these 30 seeds (an improvement came over 1000 generations after the
    # one before); 1500 keeps the full budget's success on them, though not on every seed.
    parser.add_argument("--patience", type=int, default=1500,
                        help="generations without improvement before a run stops")
    parser.add_argument("--generations", type=int, default=10,
                        help="generations per run in the vectorised-vs-loop comparison")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print a JSON summary last")
    args = parser.parse_args(argv)

    full = p08_runs(args.seeds, None)
    stopped = p08_runs(args.seeds, args.patience)
    print(f"P08 over {args.seeds} seeds (population 100, at most 3000 generations)")
    for label, row in (("full budget", full), (f"patience {args.patience}", stopped)):
        print(f"  {label:14s} median {row['median_s'] * 1e3:7.1f} ms per run "
              f"(min {row['min_s'] * 1e3:.1f}, max {row['max_s'] * 1e3:.1f}; CPU "
              f"{row['median_cpu_s'] * 1e3:.1f} ms), {row['median_generations']:.0f} generations,"
              f" success {row['success']:.0%}")

    # The goal is on CPU seconds: on a machine shared with other work, wall-clock time
    # also counts the time this process waited for a core. Both are printed.
    entries = [
        report.benchmark_entry("ga", f"P08 run, patience {args.patience}, median CPU seconds",
                               stopped["median_cpu_s"], "s", goal=("<", 0.1)),
        report.benchmark_entry("ga", f"P08 run, patience {args.patience}, median seconds",
                               stopped["median_s"], "s"),
        report.benchmark_entry("ga", "P08 success with patience minus full-budget success",
                               stopped["success"] - full["success"], "", goal=(">=", 0)),
        report.benchmark_entry("ga", "P08 full-budget run, median seconds", full["median_s"], "s"),
        report.benchmark_entry("ga", "P08 full-budget run, median CPU seconds",
                               full["median_cpu_s"], "s"),
        report.benchmark_entry("ga", "P08 full-budget success rate", full["success"], ""),
    ]
    print("\nvectorised vs loop, same seed and random numbers")
    for label, n, k in SIZES:
        if label == "P08":
            values, weights, capacity = INSTANCES["P08"].arrays()
        else:
            values, weights, capacity = random_instance(n, np.random.default_rng(n))
        row = compare_speed(values, weights, capacity, k, args.generations, seed=1,
                            repeat=args.repeat)
        print(f"  {label:7s} n={n:4d} k={k:4d} G={args.generations}: vectorised "
              f"{row['vectorised_s'] * 1e3:8.2f} ms  loop {row['loop_s'] * 1e3:9.1f} ms  "
              f"speed-up {row['speedup']:6.1f}x  identical={row['identical']}", flush=True)
        if not row["identical"]:
            raise SystemExit("the two versions disagree: the comparison is meaningless")
        entries.append(report.benchmark_entry("ga", f"loop / vectorised, {n} items, k={k}",
                                              row["speedup"], "x"))
    print()
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
