"""Vectorised genetic algorithm vs the per-element loop version: same seed, same budget.

    python benchmarks/ga.py            # three problem sizes, a table of ratios
    python benchmarks/ga.py --json     # ... and one JSON object on the last line

Both versions run the same generations with the same random numbers (the script
checks that their histories are identical), so the ratio measures speed alone.
Measured in one run, so machine load affects both sides alike.
"""

import argparse
import json

import numpy as np

from dlcourse.ga import INSTANCES, compare_speed, random_instance

# (label, items, population); "P08" is the published 24-item instance
SIZES = [("P08", 24, 100), ("random", 100, 200), ("random", 200, 400)]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print a JSON summary last")
    args = parser.parse_args(argv)

    rows = []
    for label, n, k in SIZES:
        if label == "P08":
            values, weights, capacity = INSTANCES["P08"].arrays()
        else:
            values, weights, capacity = random_instance(n, np.random.default_rng(n))
        row = compare_speed(values, weights, capacity, k, args.generations, seed=1,
                            repeat=args.repeat)
        row["instance"] = label
        rows.append(row)
        print(f"{label:7s} n={n:4d} k={k:4d} G={args.generations}: "
              f"vectorised {row['vectorised_s'] * 1e3:8.2f} ms  loop {row['loop_s'] * 1e3:9.1f} ms"
              f"  speed-up {row['speedup']:6.1f}x  identical={row['identical']}", flush=True)
        if not row["identical"]:
            raise SystemExit("the two versions disagree: the comparison is meaningless")
    summary = {"benchmark": "ga", "rows": rows,
               "max_speedup": max(r["speedup"] for r in rows)}
    if args.json:
        print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
