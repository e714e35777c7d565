"""`make site` / the end of `make course`: build/site/, built and read as a learner reads it.

The browser test executes SITE_LESSONS (lesson 01 by default: formulas with \\underbrace,
a widget, two exercises, figures; about 80 s in quick mode) with `make course`'s runner,
builds the site and opens every page in Debian's Chromium with the network blocked.
SITE_LESSONS=01,06,07,08 widens it; SITE_BUILD=build checks the site of an existing
build folder (rebuilt from its executed notebooks) without running anything. Screenshots
of every page go to build/screens/site/.
"""

import json
import os
import shutil
import subprocess
import sys
from urllib.parse import unquote, urlparse

import build_site
import nbformat
import pytest
from browser import launch

from conftest import ROOT
from make_student import BEGIN, END

SITE_LESSONS = os.environ.get("SITE_LESSONS", "01")
SCREENS = ROOT / "build" / "screens" / "site"
AXE = ROOT / "tools" / "site-js" / "node_modules" / "axe-core" / "axe.min.js"
# Lessons still without a closing "References" section with links (their authors add them);
# the list may only shrink: a lesson that has its references must leave it.
REFERENCES_PENDING: set[str] = set()  # lessons still without a closing References section
# Cells screenshot beside each page's top: build/screens/site/<lesson>-<kind>.png.
SHOTS = {"formula": ".jp-MarkdownCell:has(.MathJax_Display)", "widget": ".celltag_widget",
         "exercise": ".jp-CodeCell:has(details.solution)"}
PLACEHOLDER_ALT = "No description has been provided for this image"

# Every link of the page: where it points, and whether its target exists in that page. As
# browsers do, a fragment names the element whose id is the fragment as written or decoded.
NAMED_JS = """(f) => [f, decodeURIComponent(f)].some(n => document.getElementById(n)
                                                 || document.getElementsByName(n).length)"""
LINKS_JS = f"""() => [...document.querySelectorAll('a[href]')].map(a => ({{
  href: a.href, raw: a.getAttribute('href'), here: !a.hash || ({NAMED_JS})(a.hash.slice(1))}}))"""
IMAGES_JS = """() => [...document.querySelectorAll('img')].map(i => ({
  src: i.getAttribute('src').slice(0, 60), ok: i.complete && i.naturalWidth > 0,
  alt: i.getAttribute('alt') || ''}))"""
# MathJax 2 is done when its queue has run a callback queued after the page's typesetting.
TYPESET_JS = """() => {
  if (!window.MathJax || !MathJax.Hub) return false;
  if (!window.__typeset) { window.__typeset = "queued";
                           MathJax.Hub.Queue(() => { window.__typeset = "done"; }); }
  return window.__typeset === "done";
}"""
# What is wrong with the typeset formulas: errors, TeX left as text (outside code), the font.
MATH_JS = r"""() => {
  const prose = [...document.querySelectorAll('.jp-RenderedMarkdown')].map(m => {
    const copy = m.cloneNode(true);
    copy.querySelectorAll('code, pre, script').forEach(c => c.remove());
    return copy.innerText; }).join('\n');
  const tex = prose.match(/\$[^$\n]{1,80}\$|\\(frac|sum|times|text|left|right|underbrace|cdot)\b/g);
  return {errors: document.querySelectorAll('.MathJax_Error, merror').length
                  + (document.body.innerText.includes('Math Processing Error') ? 1 : 0),
          tex: (tex || []).slice(0, 5), formulas: document.querySelectorAll('.MathJax').length,
          font: MathJax.OutputJax['HTML-CSS'] && MathJax.OutputJax['HTML-CSS'].fontInUse};
}"""
# Figures drawn by each widget cell (a code cell calling interact.show).
WIDGETS_JS = """() => [...document.querySelectorAll('.jp-CodeCell')]
  .filter(c => c.querySelector('.jp-InputArea-editor').innerText.includes('interact.show('))
  .map(c => c.querySelectorAll('.jp-OutputArea-output img').length)"""
# preload: false, or axe fetches the stylesheets, which a page read from disk may not.
AXE_JS = """async () => (await axe.run(document, {resultTypes: ['violations'], preload: false}))
  .violations.filter(v => ['serious', 'critical'].includes(v.impact))
  .map(v => `${v.id} (${v.impact}): ${v.nodes.length} element(s), e.g. `
             + v.nodes[0].html.slice(0, 120))"""


def solutions() -> set[str]:
    """The lines of code only the course's exercise solutions (instructor edition) have:
    stripped, no comment, long enough to be the solution's own, in no other cell's code."""
    inside_lines, outside_lines = set(), set()
    for path in sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                if BEGIN.match(line) or END.match(line):
                    inside = BEGIN.match(line) is not None
                elif len(line.strip()) >= 16 and not line.strip().startswith("#"):
                    (inside_lines if inside else outside_lines).add(line.strip())
    return inside_lines - outside_lines


def markdown_notebook(*sources: str, code: str = "x = 1") -> nbformat.NotebookNode:
    cells = [nbformat.v4.new_markdown_cell(s) for s in sources]
    return nbformat.v4.new_notebook(cells=[*cells, nbformat.v4.new_code_cell(code)])


def test_title_and_summary_read_the_first_markdown_cell():
    notebook = markdown_notebook("# 09 · Something new\n\nLearn *this*, then\nthat (about 1.5 s)."
                                 " More text.\n\n## You will learn\n- a\n")
    title, summary = build_site.title_and_summary(notebook)
    assert title == "09 · Something new"
    assert summary == "Learn *this*, then that (about 1.5 s)."


def test_the_contents_link_to_the_ids_nbconvert_gives_headings():
    notebook = markdown_notebook("# Title\n\nIntro.", "## 1. A $k$ · `b`\n\ntext one\n\n"
                                 "```\n# not a heading\n```\n### Exercise 2: x\nmore")
    parts = build_site.sections(notebook)
    assert [(p["level"], p["title"]) for p in parts] == [
        (0, ""), (1, "Title"), (2, "1. A $k$ · b"), (3, "Exercise 2: x")]
    html = build_site.markdown2html(notebook.cells[1].source)
    for part in parts[2:]:
        assert f'id="{part["id"]}"' in html, (part["id"], html)
    assert "not a heading" in parts[2]["text"] and parts[3]["text"] == "more"


def test_mathjax_is_copied_into_the_site_once(tmp_path):
    url = build_site.install_mathjax(tmp_path)
    script = tmp_path / url.split("?")[0]
    assert url.startswith("mathjax/MathJax.js?config=") and script.stat().st_size > 10_000
    config = url.split("config=")[1].split(",")[0]
    assert (tmp_path / "mathjax" / "config" / f"{config}.js").exists()  # the config it names
    assert (tmp_path / "mathjax" / "fonts" / "HTML-CSS" / "STIX-Web").is_dir()  # the pages' font
    script.write_text("// kept")
    assert build_site.install_mathjax(tmp_path) == url
    assert script.read_text() == "// kept"  # a second build does not copy it again


def test_links_between_lessons_point_at_their_pages():
    text = ('[x](02_convolution_backprop.ipynb#3.-Check) [y](./07_genetic_algorithm.ipynb) '
            '[z](https://x.org/a.ipynb) <a href="02_convolution_backprop.py">w</a>')
    rendered = {"02_convolution_backprop"}
    rewritten = build_site.LESSON_LINK.sub(lambda m: build_site.lesson_link(m, rendered), text)
    assert "(02_convolution_backprop.html#3.-Check)" in rewritten
    assert "(index.html#07_genetic_algorithm)" in rewritten  # not rendered: its index row
    assert "(https://x.org/a.ipynb)" in rewritten
    assert 'href="02_convolution_backprop.html"' in rewritten


def test_a_page_shows_the_stub_with_the_solution_folded_widgets_tagged_and_no_local_path(
        tmp_path):
    code = ("# The shape of the output\ndef f(n):\n    # BEGIN SOLUTION\n    # HINT: halve it\n"
            "    return n // 2\n    # END SOLUTION\n")
    notebook = markdown_notebook("## 2. Output size\n\nThe output halves. Then more.", code=code)
    notebook.cells.append(nbformat.v4.new_code_cell("interact.show(draw, n=(1, 4))", outputs=[
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                     "text/plain": "<Figure>"}),
        nbformat.v4.new_output("stream", text=f"read {ROOT}/data/x.h5 and {tmp_path}/run\n")]))
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    build_site.prepare(notebook, set(), build_site.local_paths(tmp_path))
    exercise, widget = notebook.cells[1], notebook.cells[2]
    assert "raise NotImplementedError('halve it')" in exercise.source
    assert "n // 2" not in exercise.source and "n // 2" in exercise.metadata["solution"]
    assert widget.metadata["tags"] == ["widget"] and "widgets" not in notebook.metadata
    assert widget.outputs[0].metadata["alt"] == (
        "Figure at the widget's starting values, section “2. Output size”: The output halves.")
    assert widget.outputs[1].text == "read data/x.h5 and build/run\n"


@pytest.mark.slow
def test_results_are_split_full_first_and_a_full_run_survives_a_quick_one(tmp_path):
    results = [{"notebook": "01_convolution_arithmetic", "name": n, "value": v, "unit": "x",
                "mode": m, "cpu": "Some CPU", "cores": 2, "gpu": None, "date": d}
               for n, v, m, d in [("a <b>", 12345.678, "quick", "2026-01-02T03:04:05+00:00"),
                                  ("a <b>", 2.5, "full", "2026-01-01T10:00:30+00:00")]]
    (tmp_path / "results.json").write_text(json.dumps({"results": results}))
    executed = tmp_path / "executed" / "01_convolution_arithmetic.ipynb"
    executed.parent.mkdir()
    notebook = nbformat.read(ROOT / "course" / executed.name, as_version=4)
    for start, end, tag in [("2026-01-01T10:00:00", "2026-01-01T10:01:00", "full run"),
                            ("2026-01-02T03:04:00", "2026-01-02T03:05:00", "quick run")]:
        notebook.metadata["papermill"] = {"start_time": start + "+00:00", "duration": 60,
                                          "end_time": end + "+00:00"}
        nbformat.write(notebook, executed)
        text = build_site.build(tmp_path).read_text()
        page = (tmp_path / "site" / executed.with_suffix(".html").name).read_text()
        assert "full run, 2026-01-01 10:01" in text and "full run, 2026-01-01 10:01" in page, tag
    assert text.index("Full runs") < text.index("Quick runs")
    full, quick = text.split("Quick runs")
    assert "2.5" in full and "1.235e+04" not in full and "1.235e+04" in quick
    assert "a &lt;b&gt;" in text and "Some CPU (2 cores)" in text and "not run yet" in text


@pytest.mark.slow
def test_pages_link_their_neighbours_by_title_with_contents(tmp_path):
    (tmp_path / "executed").mkdir()
    for name in ("01_convolution_arithmetic.ipynb", "03_dense_vs_conv.ipynb"):
        shutil.copy(ROOT / "course" / name, tmp_path / "executed" / name)
    build_site.build(tmp_path)
    page = (tmp_path / "site" / "03_dense_vs_conv.html").read_text()
    title = build_site.title_and_summary(nbformat.read(
        ROOT / "course" / "01_convolution_arithmetic.ipynb", as_version=4))[0]
    assert f'rel="prev">← {title}</a>' in page and 'rel="next"' not in page
    assert page.count('class="level-2"') >= 5 and 'class="site-toc"' in page
    search = (tmp_path / "site" / "assets" / "search-index.js").read_text()
    assert "03_dense_vs_conv.html" in search and "01_convolution_arithmetic.html" in search


@pytest.mark.slow
def test_an_unreadable_results_file_is_one_line(tmp_path):
    (tmp_path / "results.json").write_text("{broken")
    run = subprocess.run([sys.executable, "tools/build_site.py"], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, BUILD_DIR=str(tmp_path)), timeout=120)
    assert run.returncode == 1 and "not a valid results file" in run.stdout


def test_every_lesson_ends_with_its_references():
    missing = {p.stem[:2] for p in sorted((ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
               if not build_site.has_references(nbformat.read(p, as_version=4))}
    assert not missing - REFERENCES_PENDING, (
        f"lessons {sorted(missing - REFERENCES_PENDING)} lost their closing References section")
    assert not REFERENCES_PENDING - missing, (
        f"lessons {sorted(REFERENCES_PENDING - missing)} now end with references: "
        "take them off REFERENCES_PENDING")
    if missing:
        print(f"lessons without a closing References section with links: {sorted(missing)}")


def test_a_references_section_needs_links():
    assert build_site.has_references(markdown_notebook(
        "# T", "## References\n\n- A. Author (2015). [Title](https://arxiv.org/abs/1508.06576)"))
    assert not build_site.has_references(markdown_notebook("# T", "## References\n\n- A book"))
    assert not build_site.has_references(markdown_notebook("## References\n[x](https://a.b)",
                                                           "## Summary"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """build/site/ of a quick-mode `make course` of SITE_LESSONS, in a temporary folder (or
    the site of SITE_BUILD, rebuilt), with axe-core installed by `make site-js`."""
    install = subprocess.run(["make", "-s", "site-js"], cwd=ROOT, capture_output=True,
                             text=True, timeout=600)
    assert install.returncode == 0 and AXE.exists(), install.stdout + install.stderr
    if os.environ.get("SITE_BUILD"):
        build = ROOT / os.environ["SITE_BUILD"]
        build_site.build(build)
        return build / "site"
    build = tmp_path_factory.mktemp("site-build")
    env = dict(os.environ, QUICK="1", NOTEBOOK=SITE_LESSONS, BUILD_DIR=str(build),
               CELL_TIMEOUT="180", NOTEBOOK_TIMEOUT="300")
    run = subprocess.run([sys.executable, "tools/run_course.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    # A lesson that fails its own checks (a timing claim on a loaded machine, say) is
    # test_browser's and nbval's business; its executed notebook is still rendered here.
    assert "wrote" in run.stdout and "site/index.html" in run.stdout, (
        run.stdout[-3000:] + run.stderr[-3000:])
    return build / "site"


def open_offline(context, url: str, problems: list[str]):
    """A page of ``context`` at ``url``, every console error and blocked request noted."""
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and problems.append(
        f"{url}: console error: {m.text[:300]}"))
    page.on("pageerror", lambda e: problems.append(f"{url}: script error: {e}"))
    page.on("requestfailed", lambda r: problems.append(
        f"{url}: request failed (offline?): {r.url[:120]}"))
    page.goto(url)
    page.wait_for_load_state("load")
    return page


def check_links(page, url: str, seen: dict) -> list[str]:
    """Images that did not load or lack alt text, links to nothing."""
    problems = []
    for image in page.evaluate(IMAGES_JS):
        if not image["ok"]:
            problems.append(f"{url}: image {image['src']}… did not load")
        if len(image["alt"]) < 12 or image["alt"] == PLACEHOLDER_ALT:
            problems.append(f"{url}: image {image['src']}… has no meaningful alt text "
                            f"({image['alt']!r})")
    for link in page.evaluate(LINKS_JS):
        target = urlparse(link["href"])
        if target.scheme != "file":
            continue  # the lessons' references on the web are not reachable here
        path = unquote(target.path)
        if not os.path.exists(path):
            problems.append(f"{url}: link {link['raw']} points to a missing file")
        elif target.fragment and path == unquote(urlparse(url).path) and not link["here"]:
            problems.append(f"{url}: anchor {link['raw']} names no element of the page")
        elif target.fragment and path != unquote(urlparse(url).path):
            seen.setdefault(path, set()).add(target.fragment)
    return problems


def check_lesson(page, url: str, site) -> list[str]:
    """Formulas, widgets, solutions, contents, the sticky bar and local paths of a lesson."""
    problems = []
    page.wait_for_function(TYPESET_JS, timeout=120_000)  # MathJax from the site, offline
    math = page.evaluate(MATH_JS)
    if math["errors"] or math["tex"] or math["font"] != "STIX-Web" or math["formulas"] < 5:
        problems.append(f"{url}: formulas: {math}")
    widgets = page.evaluate(WIDGETS_JS)
    if 0 in widgets:
        problems.append(f"{url}: widget cells with no figure (images per widget: {widgets})")
    visible = page.evaluate("() => document.body.innerText")
    shown = sorted(line for line in solutions() if line in visible)
    if shown:
        problems.append(f"{url}: solutions shown without being opened: {shown[:3]}")
    summaries = page.locator("details.solution > summary").all_inner_texts()
    if any("Solution" not in s for s in summaries):
        problems.append(f"{url}: a folded solution does not say so: {summaries}")
    # The page as written and as shown (MathJax's own script tags hold absolute file URLs).
    html = unquote(urlparse(url).path)
    html = open(html, encoding="utf-8").read() + visible
    for path in {str(ROOT), str(site.parent.resolve()), os.path.expanduser("~") + "/"}:
        if path in html:
            problems.append(f"{url}: shows the local path {path}")
    if page.locator(".site-toc a").count() < 3:
        return [*problems, f"{url}: no table of contents"]
    target = page.locator(".site-toc a").nth(2)
    heading = target.get_attribute("href")
    target.click()
    page.wait_for_timeout(300)
    bar = page.evaluate("() => document.querySelector('.site-bar').getBoundingClientRect().bottom")
    top = page.evaluate("""(f) => { const e = [f, decodeURIComponent(f)]
      .map(n => document.getElementById(n)).find(Boolean);
      return e && e.getBoundingClientRect().top; }""", heading[1:])
    if top is None or top < bar:
        problems.append(f"{url}: {heading} lands under the sticky bar ({top} < {bar})")
    return problems


def check_accessibility(page, url: str) -> list[str]:
    page.add_script_tag(path=str(AXE))
    return [f"{url}: axe: {v}" for v in page.evaluate(AXE_JS)]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_site_reads_offline_in_chromium(site):
    """Every page opened with the network blocked: no console error, figures with alt text,
    links that resolve, typeset formulas, widget figures, folded solutions, contents, no
    local path, no serious accessibility violation; screenshots in build/screens/site/."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    lessons = sorted(p.name for p in site.glob("[0-9][0-9]_*.html"))
    if not os.environ.get("SITE_BUILD"):
        assert [n[:2] for n in lessons] == SITE_LESSONS.split(","), lessons
    SCREENS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    seen: dict[str, set] = {}
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
            "file://") else route.abort())
        index = (site / "index.html").resolve().as_uri()
        page = open_offline(context, index, problems)
        problems += check_links(page, index, seen) + check_accessibility(page, index)
        modes = set(page.locator(".results td:nth-child(5)").all_inner_texts())
        not_run = page.locator("tr", has_text="not run yet").count()
        page.fill("#site-search-box", "im2col" if "01" in SITE_LESSONS else "lesson")
        found = page.locator("#site-search-results a").count()
        page.screenshot(path=str(SCREENS / "index.png"), full_page=True)
        page.close()
        for name in lessons:
            url = (site / name).resolve().as_uri()
            page = open_offline(context, url, problems)
            problems += check_links(page, url, seen) + check_lesson(page, url, site)
            page.goto(url)  # from the top, for the screenshot and axe
            page.wait_for_function(TYPESET_JS, timeout=120_000)
            stem = name.removesuffix(".html")
            page.screenshot(path=str(SCREENS / f"{stem}.png"))
            page.add_style_tag(content=".site-bar { position: static; }")  # not over a cell
            for kind, cell in SHOTS.items():  # a close look at what the checks were about
                if page.locator(cell).count():
                    page.locator(cell).first.screenshot(path=str(SCREENS / f"{stem}-{kind}.png"))
            problems += check_accessibility(page, url)
            page.close()
        page = context.new_page()
        for path, anchors in seen.items():  # anchors into other pages name elements there
            page.goto(f"file://{path}")
            problems += [f"link to {path}#{a} names no element there" for a in sorted(anchors)
                         if not page.evaluate(NAMED_JS, a)]
        browser.close()
    assert not problems, "\n".join(problems)
    if not os.environ.get("SITE_BUILD"):
        assert modes == {"quick"}, modes
        assert not_run == 9 - len(lessons), f"{not_run} lessons say they were not run"
    assert found >= 1, "the search found nothing"
