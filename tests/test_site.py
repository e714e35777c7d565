"""`make site` / the end of `make course`: build/site/ rendered and checked in a real browser."""

import importlib.util
import json
import os
import subprocess
import sys
from urllib.parse import unquote, urlparse

import nbformat
import pytest
from browser import launch

from conftest import ROOT

SITE_LESSONS = "07"  # a small lesson with figures and formulas, run in quick mode
spec = importlib.util.spec_from_file_location("course_site", ROOT / "tools" / "build_site.py")
course_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course_site)

# Every link of the page: where it points, and whether its target exists in that page. As
# browsers do, a fragment names the element whose id is the fragment as written or decoded.
NAMED_JS = """(f) => [f, decodeURIComponent(f)].some(n => document.getElementById(n)
                                                 || document.getElementsByName(n).length)"""
LINKS_JS = f"""() => [...document.querySelectorAll('a[href]')].map(a => ({{
  href: a.href, raw: a.getAttribute('href'), here: !a.hash || ({NAMED_JS})(a.hash.slice(1))}}))"""
IMAGES_JS = """() => [...document.querySelectorAll('img')].map(i => ({
  src: i.getAttribute('src').slice(0, 60), ok: i.complete && i.naturalWidth > 0}))"""


def test_title_and_summary_read_the_first_markdown_cell():
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# 09 · Something new\n\nLearn *this*, then\nthat (about 1.5 s). More text.\n\n"
        "## You will learn\n- a\n")])
    title, summary = course_site.title_and_summary(notebook)
    assert title == "09 · Something new"
    assert summary == "Learn *this*, then that (about 1.5 s)."
    assert course_site.inline_markdown(summary) == "Learn <em>this</em>, then that (about 1.5 s)."


def test_mathjax_is_copied_into_the_site_once(tmp_path):
    url = course_site.install_mathjax(tmp_path)
    script = tmp_path / url.split("?")[0]
    assert url.startswith("mathjax/MathJax.js?config=") and script.stat().st_size > 10_000
    config = url.split("config=")[1].split(",")[0]
    assert (tmp_path / "mathjax" / "config" / f"{config}.js").exists()  # the config it names
    script.write_text("// kept")
    assert course_site.install_mathjax(tmp_path) == url
    assert script.read_text() == "// kept"  # a second build does not copy it again


def test_links_between_lessons_point_at_their_pages():
    body = ('<a href="02_convolution_backprop.ipynb#3.-Check">x</a> '
            '<a href="./07_genetic_algorithm.ipynb">y</a> <a href="https://x.org/a.ipynb">z</a>')
    rendered = {"02_convolution_backprop"}
    rewritten = course_site.LESSON_LINK.sub(lambda m: course_site.lesson_link(m, rendered), body)
    assert 'href="02_convolution_backprop.html#3.-Check"' in rewritten
    assert 'href="index.html#07_genetic_algorithm"' in rewritten  # not rendered: its index row
    assert 'href="https://x.org/a.ipynb"' in rewritten


def test_the_results_table_shows_every_result(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({"results": [
        {"notebook": "00_setup", "name": "CPU <matmul>", "value": 12345.678, "unit": "GFLOP/s",
         "mode": "quick", "cpu": "Some CPU", "cores": 2, "gpu": None,
         "date": "2026-01-02T03:04:05+00:00"}]}))
    index = course_site.build(tmp_path)
    text = index.read_text()
    assert "CPU &lt;matmul&gt;" in text and "1.235e+04" in text and "GFLOP/s" in text
    assert "Some CPU (2 cores)" in text and "2026-01-02 03:04" in text
    assert "not run yet" in text  # nothing in tmp_path/executed
    (tmp_path / "results.json").write_text("{broken")
    run = subprocess.run([sys.executable, "tools/build_site.py"], cwd=ROOT, capture_output=True,
                         text=True, env=dict(os.environ, BUILD_DIR=str(tmp_path)), timeout=120)
    assert run.returncode == 1 and "not a valid results file" in run.stdout


# MathJax 2 is done when its queue has run a callback queued after the page's typesetting.
TYPESET_JS = """() => {
  if (!window.MathJax || !MathJax.Hub) return false;
  if (!window.__typeset) { window.__typeset = "queued";
                           MathJax.Hub.Queue(() => { window.__typeset = "done"; }); }
  return window.__typeset === "done";
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """build/site/ of a quick-mode `make course` of one small lesson, in a temporary folder."""
    build = tmp_path_factory.mktemp("site-build")
    env = dict(os.environ, QUICK="1", NOTEBOOK=SITE_LESSONS, BUILD_DIR=str(build),
               CELL_TIMEOUT="180", NOTEBOOK_TIMEOUT="300")
    run = subprocess.run([sys.executable, "tools/run_course.py"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    # A lesson that fails its own checks (a timing claim on a loaded machine, say) is
    # test_browser's and nbval's business; its executed notebook is still rendered here.
    assert "wrote" in run.stdout and "site/index.html" in run.stdout, (
        run.stdout[-3000:] + run.stderr[-3000:])
    assert len(list((build / "executed").glob("*.ipynb"))) == 1, run.stdout[-3000:]
    return build / "site"


def check_page(page, url: str, seen: dict) -> list[str]:
    """Open ``url``; what is broken in it: images that did not load, links to nothing."""
    page.goto(url)
    problems = [f"{url}: image {i['src']}… did not load"
                for i in page.evaluate(IMAGES_JS) if not i["ok"]]
    for link in page.evaluate(LINKS_JS):
        target = urlparse(link["href"])
        if target.scheme != "file":
            continue  # the web (MathJax, the course's references) is not reachable here
        path = unquote(target.path)
        if not os.path.exists(path):
            problems.append(f"{url}: link {link['raw']} points to a missing file")
        elif target.fragment and path == unquote(urlparse(url).path) and not link["here"]:
            problems.append(f"{url}: anchor {link['raw']} names no element of the page")
        elif target.fragment and path != unquote(urlparse(url).path):
            seen.setdefault(path, set()).add(target.fragment)
    return problems


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_site_opens_in_chromium_with_figures_and_working_links(site):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    lessons = sorted(p.name for p in site.glob("[0-9][0-9]_*.html"))
    assert lessons == ["07_genetic_algorithm.html"], lessons
    index = (site / "index.html").resolve().as_uri()
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page()
        seen: dict[str, set] = {}
        problems = check_page(page, index, seen)
        rows = page.locator("#results tr").count() - 1
        modes = set(page.locator("#results tr td:nth-child(5)").all_inner_texts())
        linked = page.locator('a[href$=".html"]').all_inner_texts()
        not_run = page.locator("tr", has_text="not run yet").count()
        problems += check_page(page, (site / lessons[0]).resolve().as_uri(), seen)
        figures = page.locator(".jp-OutputArea-output img").count()
        headings = page.locator("h2[id], h1[id]").count()
        page.wait_for_function(TYPESET_JS, timeout=60_000)  # MathJax from the site, offline
        formulas = page.locator(".MathJax, .MathJax_Display").count()
        for path, anchors in seen.items():  # anchors into other pages name elements there
            page.goto(f"file://{path}")
            problems += [f"link to {path}#{a} names no element there" for a in sorted(anchors)
                         if not page.evaluate(NAMED_JS, a)]
        page.screenshot(path=str(site / "screenshot.png"))
        browser.close()
    assert not problems, "\n".join(problems)
    assert rows >= 2 and modes == {"quick"}, (rows, modes)
    assert any("07" in text for text in linked), linked
    assert not_run >= 8, f"{not_run} lessons say they were not run; 8 were not"
    assert figures >= 1, "the lesson page shows no figure"
    assert headings >= 2, "the lesson page has no anchored headings"
    assert formulas >= 5, f"MathJax typeset {formulas} formulas on {lessons[0]}"
