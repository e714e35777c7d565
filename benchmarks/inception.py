"""Naive vs reduced inception modules: counted MACs against measured time.

For each input depth C, inception(3a) (tower widths as in the paper) is built on an
hw×hw×C input twice, with and without the 1×1 reductions in front of its 3×3 and
5×5 convolutions. Prints per-example MACs (from dlcourse.opcount),
the best time of a compiled forward pass, the achieved GFLOP/s, and the naive/reduced
ratios of MACs and of time, all measured in this one run. --json prints one JSON
object on the last line (the shared benchmark schema of ``dlcourse.report``).

Goal (lesson 05's point): wherever the 1×1 reductions cut the counted MACs at least
twofold, the reduced module is also faster (naive/reduced time > 1). Below that the
counts are close and small layers' overheads decide, so no goal. Exits 1 when a goal is
missed.

    python benchmarks/inception.py [--channels 64 192 480] [--hw 28] [--batch 8]
                                   [--repeat 3] [--json]
"""

import argparse
import sys

from dlcourse import inception, report


def ratios(rows: list[dict]) -> list[dict]:
    """One dict per input depth: naive/reduced ratio of MACs and of seconds."""
    by_key = {(r["c_in"], r["variant"]): r for r in rows}
    out = []
    for c_in in dict.fromkeys(r["c_in"] for r in rows):
        naive, reduced = by_key[c_in, "naive"], by_key[c_in, "reduced"]
        out.append({"c_in": c_in, "mac_ratio": naive["macs"] / reduced["macs"],
                    "time_ratio": naive["seconds"] / reduced["seconds"]})
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[64, 192, 480],
                        help="input depths C")
    parser.add_argument("--hw", type=int, default=28, help="input height and width")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)

    rows = inception.naive_vs_reduced(args.channels, args.hw, args.batch, args.repeat,
                                      progress=not args.json)
    print(f"{'C_in':>5} {'variant':>8} {'MACs/example':>14} "
          f"{'ms/batch':>9} {'GFLOP/s':>8}")
    for r in rows:
        print(f"{r['c_in']:>5} {r['variant']:>8} {r['macs']:>14,} "
              f"{r['seconds'] * 1e3:>9.2f} {r['gflops']:>8.1f}")
    summary = ratios(rows)
    for s in summary:
        print(f"C_in {s['c_in']}: naive/reduced MACs {s['mac_ratio']:.2f}×, "
              f"time {s['time_ratio']:.2f}×")
    entries = []
    for s in summary:
        entries += [
            report.benchmark_entry("inception", f"naive/reduced MACs, C_in={s['c_in']}",
                                   s["mac_ratio"], "x"),
            report.benchmark_entry("inception", f"naive/reduced time, C_in={s['c_in']}, "
                                   f"{args.hw}x{args.hw}, batch {args.batch}",
                                   s["time_ratio"], "x",
                                   goal=(">", 1.0) if s["mac_ratio"] >= 2 else None)]
    entries += [report.benchmark_entry("inception", f"{r['variant']} C_in={r['c_in']}: rate",
                                       r["gflops"], "GFLOP/s") for r in rows]
    print()
    return report.print_benchmarks(entries, as_json=args.json)


if __name__ == "__main__":
    sys.exit(main())
