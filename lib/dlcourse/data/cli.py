"""``python -m dlcourse.data status | fetch | verify``: the data layer from a terminal.

Every failure is one line on stderr and a non-zero exit: 2 for a broken manifest or
setting, 1 for files that could not be fetched, verified or repaired.
"""

import argparse
import sys
import warnings

from .. import config
from .cache import DataError, fetch_file, find_entries, manifest, status, verify_cache


def print_status() -> None:
    """Print the cache and mirror folders and the state of every file of the manifest."""
    mirror = config.mirror_dir()
    print(f"cache:  {config.data_dir()}")
    print(f"mirror: {mirror if mirror else '(none; set DLCOURSE_DATA_MIRROR)'}")
    rows = status()
    width = max(len(f"{r['dataset']}/{r['file']}") for r in rows)
    for r in rows:
        state = "cached" if r["cached"] else ("in mirror" if r["mirror"] else "missing")
        size = f"{r['size'] / 1e6:8.2f} MB" if r["size"] else "       ? MB"
        print(f"  {r['dataset'] + '/' + r['file']:<{width}}  {size}  {state}")


def fetch_datasets(names: list[str]) -> int:
    """Fetch every file of each dataset in ``names``, going on past a file that fails
    (a partial mirror still yields what it holds); returns how many files failed."""
    failed = 0
    for name in names:
        entries = find_entries(name)
        errors = []
        for entry in entries:
            try:
                fetch_file(entry)
            except DataError as err:
                errors.append(err)
                print(f"{entry.name}: FAILED: {err}", file=sys.stderr)
        count = f"{len(entries) - len(errors)} of {len(entries)}" if errors else len(entries)
        print(f"{name}: {'INCOMPLETE' if errors else 'ok'} ({count} file(s) in "
              f"{config.data_dir() / name})")
        failed += len(errors)
    return failed


def verify_datasets(names: list[str], repair: bool) -> int:
    """Verify (and with ``repair`` replace) the cached files; returns how many are still bad."""
    problems = verify_cache(names, repair=repair)
    for problem in problems:
        print(problem.line)
    left = sum(not p.repaired for p in problems)
    print(f"verified the cached files of {', '.join(names)}: {len(problems)} damaged"
          + (f", {len(problems) - left} repaired" if repair else "")
          + (f"; repair with: python -m dlcourse.data verify --repair {' '.join(names)}"
             if left and not repair else ""))
    return left


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.data",
                                     description="Fetch and inspect the course's datasets.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="show what is cached, mirrored or missing")
    get = sub.add_parser("fetch", help="download datasets into the cache")
    get.add_argument("names", nargs="*", default=["all"], help="dataset names, or 'all'")
    check = sub.add_parser("verify", help="check every cached file against the manifest")
    check.add_argument("names", nargs="*", default=["all"], help="dataset names, or 'all'")
    check.add_argument("--repair", action="store_true",
                       help="replace damaged files by verified copies (mirror or download)")
    args = parser.parse_args(argv)
    try:
        known = list(manifest())
        if args.command != "status":
            config.download_deadline()  # a bad setting is one line now, not a traceback later
    except (DataError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    names = known if getattr(args, "names", []) in ([], ["all"]) else args.names
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    with warnings.catch_warnings():  # a warning (a receipt not written) is one line too
        warnings.showwarning = lambda message, *_: print(f"warning: {message}", file=sys.stderr)
        try:
            if args.command == "status":
                print_status()
                return 0
            if args.command == "verify":
                return 1 if verify_datasets(names, args.repair) else 0
            return 1 if fetch_datasets(names) else 0
        except DataError as err:  # the cache or mirror folder itself cannot be read
            print(f"error: {err}", file=sys.stderr)
            return 1
