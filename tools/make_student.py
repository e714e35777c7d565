"""`make student`: the course with every exercise solution replaced by a stub.

In each code cell, the lines between ``# BEGIN SOLUTION`` and ``# END SOLUTION``
become ``raise NotImplementedError("<hint>")``, indented like the marker; the
hint is the block's ``# HINT:`` line. Notebooks are written to build/student/.
"""

import re
import sys
from pathlib import Path

import nbformat

from notebooks import ROOT, lesson_notebooks

BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")
HINT = re.compile(r"^\s*# HINT:\s*(.*)$")


def strip_solutions(source: str) -> tuple[str, int]:
    """Return (source with every solution stubbed, number of solutions replaced)."""
    out, block, indent, count = [], None, "", 0
    for line in source.splitlines():
        if block is None:
            begin = BEGIN.match(line)
            if begin:
                block, indent = [], begin.group(1)
            else:
                out.append(line)
        elif END.match(line):
            hints = [m.group(1) for m in map(HINT.match, block) if m]
            hint = " ".join(hints) or "complete this function"
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}raise NotImplementedError({hint!r})")
            block, count = None, count + 1
        else:
            block.append(line)
    if block is not None:
        raise ValueError("a `# BEGIN SOLUTION` has no matching `# END SOLUTION`")
    return "\n".join(out), count


def main(out_dir: Path = ROOT / "build" / "student") -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in lesson_notebooks():
        notebook = nbformat.read(path, as_version=4)
        total = 0
        for cell in notebook.cells:
            if cell.cell_type == "code":
                try:
                    cell.source, n = strip_solutions(cell.source)
                except ValueError as err:
                    raise SystemExit(f"{path.name}: {err}") from None
                total += n
        nbformat.write(notebook, out_dir / path.name)
        print(f"{path.name}: {total} exercise(s) stubbed")
    print(f"student notebooks written to {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "student"))
