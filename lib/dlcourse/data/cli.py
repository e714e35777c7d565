"""``python -m dlcourse.data status | fetch | verify``: the data layer from a terminal."""

import argparse
import sys

from .. import config
from .cache import DataError, fetch, manifest, status, verify_cache


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
                       help="delete damaged files and fetch them again")
    args = parser.parse_args(argv)
    try:
        known = list(manifest())
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.command == "status":
        print_status()
        return 0
    names = known if args.names in ([], ["all"]) else args.names
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    if args.command == "verify":
        problems = verify_cache(names, repair=args.repair)
        for line in problems:
            print(line)
        print(f"verified the cached files of {', '.join(names)}: {len(problems)} damaged"
              + ("" if args.repair or not problems else
                 f"; repair with: python -m dlcourse.data verify --repair {' '.join(names)}"))
        return 1 if problems and not args.repair else 0
    failed = 0
    for name in names:
        try:
            paths = fetch(name)
            print(f"{name}: ok ({len(paths)} file(s) in {config.data_dir() / name})")
        except DataError as err:
            failed += 1
            print(f"{name}: FAILED: {err}", file=sys.stderr)
    return 1 if failed else 0
