"""The course's notebooks: where they are, and how their paired scripts are compared."""

import os
import signal
import subprocess
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"


def lesson_notebooks(names: list[str] | None = None) -> list[Path]:
    """course/NN_*.ipynb in order; ``names`` selects by stem or prefix (e.g. "01")."""
    found = sorted(COURSE.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = [p for p in found if any(p.stem == n or p.stem.startswith(n) for n in names)]
    if not chosen:
        raise SystemExit(f"no notebook matches {', '.join(names)}; "
                         f"have {', '.join(p.stem for p in found)}")
    return chosen


def run_with_deadline(command: list[str], timeout: float | None, **kwargs) -> int | None:
    """Run ``command`` in its own process group; its exit code, or None when it ran past
    ``timeout`` seconds. Afterwards whatever is left of the group (a notebook kernel that
    outlived its client, say) is killed, so nothing keeps running or holding a port."""
    process = subprocess.Popen(command, start_new_session=True, **kwargs)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def cells_of(notebook) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in notebook.cells]


def sync_problems(ipynb: Path) -> list[str]:
    """Why ``ipynb`` is not a clean copy of its paired percent script (empty when it is)."""
    script = ipynb.with_suffix(".py")
    if not script.exists():
        return [f"{ipynb.name}: paired script {script.name} is missing"]
    notebook = nbformat.read(ipynb, as_version=4)
    problems = []
    stored = [i for i, c in enumerate(notebook.cells)
              if c.cell_type == "code" and (c.outputs or c.execution_count)]
    if stored:
        problems.append(f"{ipynb.name}: code cells {stored} have stored outputs "
                        "(clear them: make sync rewrites the notebook from the script)")
    from_script = jupytext.read(script)
    if cells_of(from_script) != cells_of(notebook):
        problems.append(f"{ipynb.name}: differs from {script.name} "
                        "(run `make sync` after editing either one)")
    if not any("parameters" in c.metadata.get("tags", []) for c in notebook.cells):
        problems.append(f"{ipynb.name}: no cell tagged `parameters`")
    elif not any("config.quick_mode()" in c.source for c in notebook.cells
                 if "parameters" in c.metadata.get("tags", [])):
        problems.append(f"{ipynb.name}: the parameters cell does not call config.quick_mode() "
                        "(the one reader of DLCOURSE_QUICK)")
    return problems


def main() -> int:
    notebooks = lesson_notebooks()
    orphans = [p.name for p in sorted(COURSE.glob("[0-9][0-9]_*.py"))
               if not p.with_suffix(".ipynb").exists()]
    problems = [f"{name}: no paired notebook (run `make sync`)" for name in orphans]
    for nb in notebooks:
        problems += sync_problems(nb)
    for p in problems:
        print(p)
    print(f"{len(notebooks)} notebooks checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
