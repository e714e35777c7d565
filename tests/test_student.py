"""`make student`: every lesson has exercises, and each exercise's check runs in the
student version and says "not done yet" instead of crashing.

To stay fast, the student notebooks are not run whole (the quick-mode run of the
instructor version already runs every cell): only the cells an exercise needs run —
every import statement of the notebook, everything up to the parameters cell, cells
that only import or define functions and classes, cells tagged ``exercise-setup``, and
each exercise block (the cell holding the solution through the last code cell before
the next markdown cell).
"""

import ast

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT
from make_student import main as make_student
from notebooks import lesson_notebooks


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    make_student(out)
    return out


def test_every_lesson_has_an_exercise_and_none_survives(student_dir):
    for instructor in lesson_notebooks():
        source = instructor.read_text()
        assert "# BEGIN SOLUTION" in source, f"{instructor.name} has no exercise"
        student = (student_dir / instructor.name).read_text()
        assert "BEGIN SOLUTION" not in student
        assert student.count("raise NotImplementedError") >= source.count("# BEGIN SOLUTION")


def parsed(source: str) -> ast.Module | None:
    """The cell's syntax tree, or None for a cell that is not plain Python (a magic, say)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def only_definitions(source: str) -> bool:
    """True for a cell that only imports, defines functions/classes or holds a docstring."""
    tree = parsed(source)
    cheap = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    return tree is not None and all(
        isinstance(node, cheap) or (isinstance(node, ast.Expr) and
                                    isinstance(node.value, ast.Constant))
        for node in tree.body)


def exercise_cells(notebook) -> list:
    """The cells the exercises need, in notebook order (see the module docstring)."""
    cells = notebook.cells
    parameters = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    keep = set(range(parameters + 1))
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        if only_definitions(cell.source) or "exercise-setup" in cell.metadata.get("tags", []):
            keep.add(i)
        if "raise NotImplementedError" in cell.source:
            j = i
            while j < len(cells) and cells[j].cell_type == "code":
                keep.add(j)
                j += 1
    imports = [ast.get_source_segment(cell.source, node)
               for cell in cells if cell.cell_type == "code"
               for node in getattr(parsed(cell.source), "body", [])
               if isinstance(node, ast.Import | ast.ImportFrom)]
    return [nbformat.v4.new_code_cell("\n".join(imports)), *(cells[i] for i in sorted(keep))]


def test_exercise_cells_are_chosen_from_the_structure():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("import os", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("heavy = train()"),
        nbformat.v4.new_code_cell("def helper():\n    return 1"),
        nbformat.v4.new_code_cell("def f(x):\n    raise NotImplementedError('hint')"),
        nbformat.v4.new_code_cell("check(f)"),
        nbformat.v4.new_markdown_cell("## Next"),
        nbformat.v4.new_code_cell("more = heavy + 1"),
        nbformat.v4.new_code_cell("data = load()", metadata={"tags": ["exercise-setup"]}),
    ])
    chosen = [c.source for c in exercise_cells(notebook)]
    assert chosen == ["import os", "# Title", "import os", "def helper():\n    return 1",
                      "def f(x):\n    raise NotImplementedError('hint')", "check(f)",
                      "data = load()"]


@pytest.mark.slow
@pytest.mark.parametrize("lesson", [p.name for p in lesson_notebooks()])
def test_student_exercises_say_not_done_yet(lesson, student_dir, monkeypatch):
    """With every solution removed, each exercise's check says "not done yet" rather
    than crashing."""
    monkeypatch.setenv("DLCOURSE_QUICK", "1")
    monkeypatch.setenv("DLCOURSE_STRICT", "1")
    notebook = nbformat.read(student_dir / lesson, as_version=4)
    notebook.cells = exercise_cells(notebook)
    NotebookClient(notebook, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "course")}}).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    assert not errors, errors
    printed = "".join(o.get("text", "") for o in outputs)
    exercises = (ROOT / "course" / lesson).read_text().count("# BEGIN SOLUTION")
    assert printed.count("not done yet") >= exercises, printed[-2000:]
