"""Write a lesson's reference run, course/reference/<notebook>_full.json, from a results file.

    python tools/record_reference.py 04_rnn_unrolling --since 2026-12-07T19:54 \
        --source "make course NOTEBOOK=04 at commit abc1234, SEED 0"

Takes every full-mode result that notebook recorded (dlcourse.report.record) at or after
``--since`` in the results file (``$DLCOURSE_RESULTS`` or build/results.json, as for
``report.record``; ``--results`` for another), so the numbers a quick
run prints beside its own are the ones a real full run printed, never typed in. Values keep
four significant digits. The run's date and hardware come from the entries; ``--hardware``
adds what they cannot say (such as the CPU's vector extensions).
"""

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from dlcourse import config, report


def hardware_text(entry: dict) -> str:
    """'2 CPU cores (AMD EPYC), no GPU' from one result's hardware fields."""
    gpu = entry.get("gpu")
    return f"{entry['cores']} CPU cores ({entry['cpu']}), {gpu if gpu else 'no GPU'}"


def reference(results: list[dict], notebook: str, since: dt.datetime, source: str,
              hardware: str = "") -> dict:
    """The reference-run document for ``notebook`` from its full-mode results since ``since``.

    Raises ValueError when there are none, or when they come from more than one machine.
    """
    chosen = [r for r in results if r["notebook"] == notebook and r["mode"] == "full"
              and dt.datetime.fromisoformat(r["date"]) >= since]
    if not chosen:
        raise ValueError(f"no full-mode results of {notebook} since {since.isoformat()}: "
                         "run make course NOTEBOOK=... first, or give an earlier --since")
    machines = {hardware_text(r) for r in chosen}
    if len(machines) > 1:
        raise ValueError(f"the results of {notebook} come from {len(machines)} machines "
                         f"({'; '.join(sorted(machines))}): give a later --since")
    return {
        "notebook": notebook,
        "mode": "full",
        "date": max(r["date"] for r in chosen)[:10],
        "hardware": machines.pop() + (f"; {hardware}" if hardware else ""),
        "source": source.rstrip(". ") + ". Only numbers that run recorded are here.",
        "results": {r["name"]: {"value": float(f"{r['value']:.4g}"), "unit": r["unit"]}
                    for r in chosen},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", help="the notebook's stem, e.g. 04_rnn_unrolling")
    parser.add_argument("--since", required=True, type=dt.datetime.fromisoformat,
                        help="the run's start (ISO date and time, local time if no zone)")
    parser.add_argument("--source", required=True,
                        help="how the run was made: command, commit, seed, settings")
    parser.add_argument("--hardware", default="", help="what the results cannot say")
    parser.add_argument("--results", type=Path, help="default: where report.record wrote")
    args = parser.parse_args(argv)
    since = args.since if args.since.tzinfo else args.since.astimezone()
    try:
        document = reference(report.load(args.results), args.notebook, since, args.source,
                             args.hardware)
    except ValueError as err:  # report.ResultsFileError is one too
        print(f"error: {err}", file=sys.stderr)
        return 2
    path = report.reference_path(args.notebook)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {path.relative_to(config.PROJECT_ROOT)}: {len(document['results'])} results")
    return 0


if __name__ == "__main__":
    sys.exit(main())
