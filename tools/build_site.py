"""`make site`: the rendered course in build/site/, from whatever was last executed.

build/site/index.html lists every lesson (course/NN_*.ipynb) with its one-line summary,
links the executed ones, and shows the results table from build/results.json; each
executed notebook in build/executed/ becomes build/site/NN_name.html, rendered by
nbconvert with its figures embedded, a bar linking back to the index and to the
neighbouring lessons, and links between lessons pointed at their pages.
`make course` calls this at its end. BUILD_DIR moves build/ elsewhere, as for make course.
"""

import datetime as dt
import html
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html

from dlcourse import report

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"
LESSON_LINK = re.compile(r'href="(?:\./)?(\d\d_\w+)\.(?:ipynb|py)(#[^"]*)?"')
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 1rem 0 2rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.35rem 0.7rem; text-align: left;
         vertical-align: top; }
td.value { text-align: right; font-variant-numeric: tabular-nums; }
td.when { white-space: nowrap; }
.muted { color: #777; }
p.summary { margin: 0; }
"""
NAV_STYLE = ("position: sticky; top: 0; z-index: 10; background: #f5f5f5; padding: 0.5rem 1rem;"
             " border-bottom: 1px solid #ddd; font-family: system-ui, sans-serif;")


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
    first_sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(paragraph), maxsplit=1)[0]
    return title, first_sentence


def inline_markdown(text: str) -> str:
    """``text`` (one paragraph of Markdown) as HTML without the enclosing paragraph."""
    rendered = markdown2html(text).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.S)


def nav_bar(lessons: list[dict], index: int) -> str:
    links = ['<a href="index.html">↑ all lessons</a>']
    done = [i for i, lesson in enumerate(lessons) if lesson["page"]]
    before = [i for i in done if i < index]
    after = [i for i in done if i > index]
    if before:
        previous = lessons[before[-1]]
        links.append(f'<a href="{previous["page"]}">← {previous["stem"]}</a>')
    if after:
        following = lessons[after[0]]
        links.append(f'<a href="{following["page"]}">{following["stem"]} →</a>')
    return f'<nav style="{NAV_STYLE}">' + " · ".join(links) + "</nav>"


def lesson_link(match: re.Match, rendered: set[str]) -> str:
    """A link to a lesson's notebook, pointed at its page (or its row of the index)."""
    stem, anchor = match[1], match[2] or ""
    return f'href="{stem}.html{anchor}"' if stem in rendered else f'href="index.html#{stem}"'


def render_lesson(executed: Path, exporter: HTMLExporter, rendered: set[str]) -> str:
    """The executed notebook as one HTML page (figures embedded as data URIs); links to
    lessons in ``rendered`` go to their pages, links to others to their row of the index."""
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    return LESSON_LINK.sub(lambda m: lesson_link(m, rendered), body)


def run_info(notebook) -> str:
    """When and how long papermill ran the notebook, from its metadata."""
    meta = notebook.metadata.get("papermill", {})
    end, duration = meta.get("end_time"), meta.get("duration")
    parts = []
    if end:
        parts.append(end[:16].replace("T", " "))
    if duration is not None:
        parts.append(f"{duration:.0f} s")
    if meta.get("exception"):
        parts.append("stopped with an error")
    return ", ".join(parts)


def results_table(results: list[dict], pages: dict[str, str]) -> str:
    if not results:
        return '<p class="muted">No results recorded yet: run <code>make course</code>.</p>'
    rows = []
    for r in sorted(results, key=lambda r: (r["notebook"], r["mode"], r["name"])):
        lesson = html.escape(r["notebook"])
        if r["notebook"] in pages:
            lesson = f'<a href="{pages[r["notebook"]]}">{lesson}</a>'
        hardware = r.get("gpu") or f'{r.get("cpu", "?")} ({r.get("cores", "?")} cores)'
        rows.append(f'<tr><td>{lesson}</td><td>{html.escape(r["name"])}</td>'
                    f'<td class="value">{report.format_value(r["value"])}</td>'
                    f'<td>{html.escape(r["unit"])}</td><td>{html.escape(r["mode"])}</td>'
                    f'<td>{html.escape(str(hardware))}</td>'
                    f'<td>{html.escape(r["date"][:16].replace("T", " "))}</td></tr>')
    head = "".join(f"<th>{h}</th>" for h in ("lesson", "figure", "value", "unit", "mode",
                                            "hardware", "date"))
    return f'<table id="results"><tr>{head}</tr>{"".join(rows)}</table>'


def index_page(lessons: list[dict], results: list[dict]) -> str:
    rows = []
    for lesson in lessons:
        name = html.escape(lesson["title"] or lesson["stem"])
        link = f'<a href="{lesson["page"]}">{name}</a>' if lesson["page"] else name
        info = lesson["info"] or '<span class="muted">not run yet</span>'
        rows.append(f'<tr id="{lesson["stem"]}"><td>{lesson["stem"][:2]}</td><td>{link}'
                    f'<p class="summary">{lesson["summary"]}</p></td>'
                    f'<td class="when">{info}</td></tr>')
    pages = {lesson["stem"]: lesson["page"] for lesson in lessons if lesson["page"]}
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Deep learning, built by hand</title><style>{STYLE}</style></head>
<body>
<h1>Deep learning, built by hand</h1>
<p>The course's notebooks as last executed (<code>make course</code>), with their outputs and
figures. Results marked <em>quick</em> come from the small quick-mode sizes, not the real runs.</p>
<h2 id="lessons">Lessons</h2>
<table><tr><th>#</th><th>lesson</th><th>last run</th></tr>{"".join(rows)}</table>
<h2 id="results-table">Results</h2>
{results_table(results, pages)}
<p class="muted">Built {built}.</p>
</body></html>
"""


def install_mathjax(site: Path) -> str | None:
    """Copy MathJax 2.7 (from the pinned jupyter-server-mathjax) into ``site``/mathjax/.

    The pages then typeset their formulas offline too. Returns the URL for nbconvert,
    relative to the pages; None when the package is missing (the pages use the CDN).
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


def build(build_dir: Path) -> Path:
    """Write ``build_dir``/site/ from ``build_dir``/executed/ and results.json; the index."""
    site = build_dir / "site"
    site.mkdir(parents=True, exist_ok=True)
    lessons = []
    for source in sorted(COURSE.glob("[0-9][0-9]_*.ipynb")):
        executed = build_dir / "executed" / source.name
        notebook = nbformat.read(executed if executed.exists() else source, as_version=4)
        title, summary = title_and_summary(notebook)
        lessons.append({"stem": source.stem, "title": title, "summary": inline_markdown(summary),
                        "executed": executed if executed.exists() else None,
                        "page": f"{source.stem}.html" if executed.exists() else None,
                        "info": run_info(notebook) if executed.exists() else ""})
    exporter = HTMLExporter(template_name="lab")
    mathjax = install_mathjax(site)
    if mathjax:
        exporter.mathjax_url = mathjax
    rendered = {lesson["stem"] for lesson in lessons if lesson["page"]}
    for i, lesson in enumerate(lessons):
        if lesson["executed"]:
            page = render_lesson(lesson["executed"], exporter, rendered)
            page = re.sub(r"(<body[^>]*>)", r"\g<1>" + nav_bar(lessons, i), page, count=1)
            (site / lesson["page"]).write_text(page, encoding="utf-8")
    results = report.load(build_dir / "results.json")
    index = site / "index.html"
    index.write_text(index_page(lessons, results), encoding="utf-8")
    rendered = sum(1 for lesson in lessons if lesson["page"])
    print(f"wrote {index} ({rendered} of {len(lessons)} lessons rendered, "
          f"{len(results)} results)")
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
