"""`make site`: the rendered course in build/site/, from whatever was last executed.

build/site/index.html lists every lesson (course/NN_*.ipynb) with its one-line summary,
links the executed ones and shows the results of build/results.json, full-mode results
apart from quick ones. Each executed notebook becomes build/site/NN_name.html: nbconvert's
lab template (the HTML JupyterLab shows) extended by the Jinja2 templates in
tools/site_templates/course/ with a sticky bar (all lessons, previous and next lesson by
title, search), a table of contents, MathJax served by the site with its STIX-Web font,
each widget shown as the figure it drew at its starting values (DLCOURSE_BATCH=1, set by
make course), each exercise as the student edition has it with its solution folded away
below, meaningful alt text on figures and no absolute path of the machine that built it.
Nothing is loaded from the network.

A full-mode run is the real result: the site copies it to build/executed-full/, so that a
later quick run (which replaces build/executed/) does not take it off the site. `make
course` calls this at its end; BUILD_DIR moves build/ elsewhere, as for make course.
"""

import datetime as dt
import json
import os
import re
import shutil
import sys
from pathlib import Path
from xml.etree import ElementTree

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html

from dlcourse import report

from make_student import BEGIN, strip_solutions

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
TEMPLATES = ROOT / "tools" / "site_templates"
# A link to a lesson's notebook or script, in a markdown cell: [text](02_x.ipynb#anchor).
LESSON_LINK = re.compile(r'(\]\(|href=")(?:\./)?(\d\d_\w+)\.(?:ipynb|py)(#[^)"\s]*)?')
HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
WIDGET_CALL = "interact.show("
# Seconds between a notebook's papermill end time and a result it recorded (dates are to the s).
CLOCK_SLACK = dt.timedelta(seconds=2)


def title_and_summary(notebook) -> tuple[str, str]:
    """The lesson's title (its first ``# `` heading) and the first sentence after it."""
    cells = [c for c in notebook.cells if c.cell_type == "markdown"]
    lines = cells[0].source.splitlines() if cells else []
    title = next((ln[2:].strip() for ln in lines if ln.startswith("# ")), "")
    paragraph, started = [], False
    for line in lines:
        if line.startswith("#"):
            started = started or line.startswith("# ")
            if paragraph:
                break
            continue
        if started and line.strip():
            paragraph.append(line.strip())
        elif paragraph:
            break
    return title, first_sentence(" ".join(paragraph))


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text, maxsplit=1)[0]


def markdown_lines(source: str):
    """Yield (heading level or 0, text) for each line of a markdown cell; a line inside a
    fenced code block is never a heading."""
    fenced = False
    for line in source.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        yield (len(match[1]), match[2]) if match else (0, line)


def heading_anchor(level: int, text: str) -> tuple[str, str]:
    """(id, plain text) of a heading as nbconvert renders it, so the contents link to it."""
    element = ElementTree.fromstring(markdown2html(f"{'#' * level} {text}"))
    for link in element.findall("a"):  # nbconvert's own ¶ link
        element.remove(link)
    return element.get("id"), "".join(element.itertext()).strip()


def plain(markdown: str) -> str:
    """Markdown as one line of text, for alt text and the search index."""
    return " ".join(re.sub(r"[`*$\\]|\]\([^)]*\)|!?\[", "", markdown).split())


def sections(notebook) -> list[dict]:
    """The notebook cut at its headings: level, id, title and plain text of each part (the
    first part, before any heading, has level 0)."""
    parts = [{"level": 0, "id": "", "title": "", "text": []}]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for level, text in markdown_lines(cell.source):
                if level:
                    anchor, title = heading_anchor(level, text)
                    parts.append({"level": level, "id": anchor, "title": title, "text": []})
                else:
                    parts[-1]["text"].append(text)
    return [dict(p, text=plain(" ".join(p["text"]))) for p in parts]


def has_references(notebook) -> bool:
    """Whether the lesson ends with a "References" section that links to its sources."""
    parts = [p for p in sections(notebook) if p["level"]]
    if not parts or parts[-1]["title"].strip().lower() != "references":
        return False
    ending = [c.source for c in notebook.cells if c.cell_type == "markdown"][-1]
    return "](http" in ending or 'href="http' in ending


def run_mode(notebook, stem: str, results: list[dict]) -> str:
    """"full" or "quick": the mode of the results the notebook recorded while it ran (every
    lesson records some); "" when none falls inside its run."""
    meta = notebook.metadata.get("papermill", {})
    try:
        start = dt.datetime.fromisoformat(meta["start_time"]) - CLOCK_SLACK
        end = dt.datetime.fromisoformat(meta["end_time"]) + CLOCK_SLACK
    except (KeyError, TypeError, ValueError):
        return ""
    modes = {r["mode"] for r in results
             if r["notebook"] == stem and start <= dt.datetime.fromisoformat(r["date"]) <= end}
    return modes.pop() if len(modes) == 1 else ""


def run_info(notebook, mode: str) -> str:
    """How, when and how long papermill ran the notebook, from its metadata."""
    meta = notebook.metadata.get("papermill", {})
    end, duration = meta.get("end_time"), meta.get("duration")
    parts = [f"{mode} run" if mode else "run"]
    if end:
        parts.append(end[:16].replace("T", " "))
    if duration is not None:
        parts.append(f"{duration:.0f} s")
    if meta.get("exception"):
        parts.append("stopped with an error")
    return ", ".join(parts)


def executed_notebook(build_dir: Path, name: str, results: list[dict]) -> Path | None:
    """The executed notebook the page shows: the latest full run, else the latest run.

    A full run found in executed/ is first copied to executed-full/, where a quick run
    does not replace it.
    """
    latest, full = build_dir / "executed" / name, build_dir / "executed-full" / name
    if latest.exists() and run_mode(nbformat.read(latest, as_version=4), latest.stem,
                                    results) == "full":
        full.parent.mkdir(exist_ok=True)
        shutil.copy2(latest, full)
    return full if full.exists() else latest if latest.exists() else None


def local_paths(build_dir: Path) -> list[tuple[str, str]]:
    """(absolute path of this machine, what a page shows instead), the longest first."""
    places = {str(ROOT) + os.sep: "", str(build_dir.resolve()): "build",
              str(Path.home()): "~"}
    return sorted(places.items(), key=lambda item: -len(item[0]))


def without_local_paths(text: str, paths: list[tuple[str, str]]) -> str:
    for path, shown in paths:
        text = text.replace(path, shown)
    return text


def figure_alt(cell, section: str, context: str) -> str:
    """What a figure of ``cell`` shows, as far as the lesson says: its section and the text
    just before the cell (the cell's own first comment when it has one)."""
    comment = next((ln.lstrip("# ").strip() for ln in cell.source.splitlines()
                    if ln.startswith("#") and not ln.startswith("# BEGIN")), "")
    kind = "Figure at the widget's starting values" if WIDGET_CALL in cell.source else "Figure"
    what = comment or context
    return f"{kind}, section “{section}”" + (f": {what[:200]}" if what else "")


def lesson_link(match: re.Match, rendered: set[str]) -> str:
    """A link to a lesson's notebook, pointed at its page (or its row of the index)."""
    opening, stem, anchor = match[1], match[2], match[3] or ""
    return opening + (f"{stem}.html{anchor}" if stem in rendered else f"index.html#{stem}")


def prepare(notebook, rendered: set[str], paths: list[tuple[str, str]]) -> None:
    """Ready an executed notebook for its page, in place: exercises as the student edition
    has them with the solution in the cell's metadata, widget cells tagged, figures given
    alt text, links to lessons pointed at their pages, local paths replaced, widget state
    (which needs the widget manager from the network) dropped."""
    notebook.metadata.pop("widgets", None)
    section, context = "", ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = LESSON_LINK.sub(lambda m: lesson_link(m, rendered), cell.source)
            text = []
            for level, line in markdown_lines(cell.source):
                if level:
                    section, text = heading_anchor(level, line)[1], []
                else:
                    text.append(line)
            context = first_sentence(plain(" ".join(text)))
            continue
        if cell.cell_type != "code":
            continue
        if any(BEGIN.match(line) for line in cell.source.splitlines()):
            cell.metadata["solution"] = cell.source
            cell.source = strip_solutions(cell.source)[0]
        if WIDGET_CALL in cell.source:
            cell.metadata["tags"] = [*cell.metadata.get("tags", []), "widget"]
        for output in cell.get("outputs", []):
            if {"image/png", "image/jpeg"} & set(output.get("data", {})):
                output.setdefault("metadata", {})["alt"] = figure_alt(cell, section, context)
            clean_output(output, paths)


def clean_output(output, paths: list[tuple[str, str]]) -> None:
    """Replace this machine's absolute paths in every text an output shows."""
    if "text" in output:
        output.text = without_local_paths(output.text, paths)
    if "traceback" in output:
        output.traceback = [without_local_paths(line, paths) for line in output.traceback]
    for kind, value in output.get("data", {}).items():
        if kind.startswith("text/") and isinstance(value, str):
            output.data[kind] = without_local_paths(value, paths)


def install_mathjax(site: Path) -> str | None:
    """Copy MathJax 2.7 (from the pinned jupyter-server-mathjax) into ``site``/mathjax/.

    The pages then typeset their formulas offline too, with the STIX-Web font it ships.
    Returns the URL for the pages, relative to them; None when the package is missing (the
    pages use the CDN).
    """
    try:
        import jupyter_server_mathjax
    except ImportError:
        return None
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = site / "mathjax"
    if not (target / "MathJax.js").exists():
        shutil.copytree(source, target, dirs_exist_ok=True)
    return "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def result_rows(results: list[dict], pages: dict[str, str]) -> list[tuple[str, list[dict]]]:
    """The results as table rows, full-mode results first, then quick ones: (mode, rows)."""
    rows: dict[str, list[dict]] = {}
    for r in sorted(results, key=lambda r: (r["notebook"], r["name"])):
        rows.setdefault(r["mode"], []).append({
            "notebook": r["notebook"], "page": pages.get(r["notebook"]), "name": r["name"],
            "value": report.format_value(r["value"]), "unit": r["unit"], "mode": r["mode"],
            "hardware": r.get("gpu") or f'{r.get("cpu", "?")} ({r.get("cores", "?")} cores)',
            "date": r["date"][:16].replace("T", " ")})
    return sorted(rows.items(), key=lambda item: item[0] != "full")


def lesson_page(executed: Path, lesson: dict, exporter: HTMLExporter, rendered: set[str],
                paths: list[tuple[str, str]]) -> tuple[str, list[dict]]:
    """The page of one executed lesson, and its sections for the search index."""
    notebook = nbformat.read(executed, as_version=4)
    prepare(notebook, rendered, paths)
    parts = sections(notebook)
    toc = [p for p in parts if p["level"] in (2, 3)]
    body, _ = exporter.from_notebook_node(notebook, resources={"lesson": dict(lesson, toc=toc)})
    found = [{"page": lesson["page"], "id": p["id"], "lesson": lesson["title"],
              "title": p["title"] or lesson["title"], "text": p["text"][:1500]}
             for p in parts if p["title"] or p["text"]]
    return body, found


def build(build_dir: Path) -> Path:
    """Write ``build_dir``/site/ from the executed notebooks and results.json; the index."""
    site = build_dir / "site"
    site.mkdir(parents=True, exist_ok=True)
    results = report.load(build_dir / "results.json")
    lessons = []
    for source in sorted(COURSE.glob("[0-9][0-9]_*.ipynb")):
        executed = executed_notebook(build_dir, source.name, results)
        notebook = nbformat.read(executed or source, as_version=4)
        title, summary = title_and_summary(notebook)
        mode = run_mode(notebook, source.stem, results) if executed else ""
        lessons.append({"stem": source.stem, "title": title or source.stem, "executed": executed,
                        "summary": markdown2html(summary), "references": has_references(notebook),
                        "page": f"{source.stem}.html" if executed else None,
                        "run": run_info(notebook, mode) if executed else ""})
    exporter = HTMLExporter(template_name="course", extra_template_basedirs=[str(TEMPLATES)])
    exporter.mathjax_url = install_mathjax(site) or exporter.mathjax_url
    shutil.copytree(TEMPLATES / "course" / "assets", site / "assets", dirs_exist_ok=True)
    done = [lesson for lesson in lessons if lesson["page"]]
    rendered = {lesson["stem"] for lesson in done}
    paths = local_paths(build_dir)
    searchable = [{"page": "index.html", "id": lesson["stem"], "lesson": "All lessons",
                   "title": lesson["title"], "text": plain(lesson["summary"])}
                  for lesson in lessons]
    for i, lesson in enumerate(done):
        neighbours = {"previous": done[i - 1] if i else None,
                      "next": done[i + 1] if i + 1 < len(done) else None}
        page, found = lesson_page(lesson["executed"], dict(lesson, **neighbours), exporter,
                                  rendered, paths)
        (site / lesson["page"]).write_text(page, encoding="utf-8")
        searchable += found
    (site / "assets" / "search-index.js").write_text(
        "window.COURSE_SEARCH = " + json.dumps(searchable, ensure_ascii=False) + ";\n",
        encoding="utf-8")
    pages = {lesson["stem"]: lesson["page"] for lesson in done}
    home = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "course"),
                              autoescape=True).get_template("home.html.j2")
    index = site / "index.html"
    index.write_text(home.render(
        lessons=lessons, results=result_rows(results, pages),
        built=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")), encoding="utf-8")
    print(f"wrote {index} ({len(done)} of {len(lessons)} lessons rendered, "
          f"{len(results)} results)")
    missing = [lesson["stem"][:2] for lesson in lessons if not lesson["references"]]
    if missing:
        print(f"lessons without a closing References section with links: {', '.join(missing)}")
    return index


def main() -> int:
    build_dir = Path(os.environ.get("BUILD_DIR") or ROOT / "build")
    try:
        build(build_dir)
    except report.CorruptResultsError as err:
        print(f"make site: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
