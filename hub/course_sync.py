"""Give a learner their own copy of the course, and its updates, without losing their edits.

JupyterHub runs this as the learner, just before their Jupyter server
(``jupyterhub_config.py`` puts it in front of the spawner's command)::

    python course_sync.py SOURCE DEST -- jupyterhub-singleuser [ARGS...]

It brings DEST up to date with SOURCE, then replaces itself with the command. The
merge follows nbgitpuller's rules, with a record of what was delivered instead of git:

- a file the learner does not have is copied (on first login: all of them; later: new
  lessons, and files the learner deleted, which come back);
- a file the learner has not changed since it was delivered is replaced by the new version;
- a file the learner changed is kept as it is: their edits win over the update.

DEST is created readable by its owner only (mode 0700), so other learners cannot read it
even where home folders are world-readable (Debian's default).
"""

import argparse
import hashlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# What DEST records: relative path -> sha256 of the version last delivered there.
RECORD = ".course-sync.json"
SKIPPED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


@dataclass
class Report:
    """What one sync did, as relative paths."""

    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def line(self) -> str:
        kept = f" (kept the learner's edits of {', '.join(self.kept)})" if self.kept else ""
        return (f"course: {len(self.copied)} file(s) copied, {len(self.updated)} updated, "
                f"{len(self.kept)} edited by the learner kept{kept}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def course_files(source: Path) -> list[Path]:
    """The files of ``source`` to deliver (relative paths): no hidden files, no caches."""
    return sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file()
                  and not any(part.startswith(".") or part in SKIPPED_PARTS
                              for part in p.relative_to(source).parts))


def deliver(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` through a temporary file renamed into place, so a
    learner never finds half a notebook."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(source.read_bytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def sync(source: Path, dest: Path) -> Report:
    """Bring the learner's copy ``dest`` up to date with the course ``source``.

    Raises NotADirectoryError when ``source`` is not a folder.
    """
    if not source.is_dir():
        raise NotADirectoryError(f"the course folder {source} does not exist")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    record_path = dest / RECORD
    try:
        delivered = json.loads(record_path.read_text())
    except (FileNotFoundError, ValueError):  # first login, or a record the learner broke
        delivered = {}
    report = Report()
    for relative in course_files(source):
        name, target = relative.as_posix(), dest / relative
        new = digest(source / relative)
        if not target.exists():
            report.copied.append(name)
        elif digest(target) == new:
            delivered[name] = new
            continue
        elif delivered.get(name) == digest(target):
            report.updated.append(name)
        else:
            report.kept.append(name)
            continue
        deliver(source / relative, target)
        delivered[name] = new
    record_path.write_text(json.dumps(delivered, indent=1, sort_keys=True))
    return report


def blocked_folder(path: Path) -> Path | None:
    """The first folder that other users cannot enter on the way to ``path``, None when
    there is none: the learners must reach the shared environment. Both ways are checked:
    the path as given (a virtual environment's bin/python is a link, reached through the
    folders above it) and the file its links lead to."""
    for way in (Path(os.path.abspath(path)), Path(os.path.realpath(path))):
        for folder in reversed(way.parents):
            if not folder.stat().st_mode & stat.S_IXOTH:
                return folder
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the course folder (read-only)")
    parser.add_argument("dest", help="the learner's copy, e.g. ~/course")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- and the command to run afterwards (the Jupyter server)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        print(sync(args.source, Path(args.dest).expanduser()).line(), file=sys.stderr)
    except OSError as err:  # the learner must still get their server, with what they have
        print(f"course: not updated ({err}); ask the instructor to check the hub's course "
              "folder", file=sys.stderr)
    if command:
        os.execvp(command[0], command)


if __name__ == "__main__":
    main()
