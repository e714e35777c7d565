"""Every lesson as a learner meets it: JupyterLab in a real (headless) Chromium.

One server, started by `make lab` with DLCOURSE_QUICK=1, for the whole module; two
lessons run at a time, each in its own page and kernel (LessonPages). For each lesson:
open it from the file browser, check that the course kernel starts with no
dialog, Run All, wait on JupyterLab's own kernel status (the toolbar's execution
indicator and the cells' prompts, never a fixed sleep), fail on any error or stderr
output the learner would see, move one ipywidgets control and check that what it draws
changes. Screenshots go to build/screens/<lesson>.png; a failure names its screenshot.
BROWSER_LESSON_TIMEOUT (seconds, default 420) bounds one lesson's Run All;
BROWSER_PARALLEL (default 2) lessons run at once; 1 runs them one at a time. The
kernels share the cores: each gets cores / BROWSER_PARALLEL threads (kernel_threads).
"""

import os
import re
import time
from pathlib import Path

import pytest
from browser import SCREENS, lab_server, launch

from conftest import ROOT

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

LESSONS = sorted(p.stem for p in (ROOT / "course").glob("[0-9][0-9]_*.ipynb"))
RUN_LIMIT_MS = 1000 * float(os.environ.get("BROWSER_LESSON_TIMEOUT", "420"))
# Lessons running at once, and pages open at once (each holds a kernel with TensorFlow).
PARALLEL = max(1, int(os.environ.get("BROWSER_PARALLEL", "2")))
MAX_OPEN = PARALLEL + 3
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
# A clean clone offline without the data mirror cannot run the lessons that read MNIST, the
# corpus or the paintings: they stop with the data layer's message, and are skipped with it.
# CI always has the mirror, so there a missing file still fails.
NO_MIRROR = not os.environ.get("DLCOURSE_DATA_MIRROR")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The status bar's kernel item ("Python 3 (ipykernel) | Idle") once a kernel is up and idle,
# or the text of the first dialog that asks something instead. (The toolbar indicator alone
# reads "idle" before any kernel exists.)
KERNEL_READY_JS = """() => {
  const dialog = document.querySelector('.jp-Dialog');
  if (dialog) return 'dialog: ' + dialog.innerText.replace(/\\s+/g, ' ').slice(0, 300);
  const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  const item = [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')]
    .map(e => e.innerText.trim()).find(t => / \\| Idle$/.test(t) && !t.startsWith('No Kernel'));
  return ind && ind.dataset.status === 'idle' && item ? item : false;
}"""
# Run All has finished: kernel idle, no cell queued or running ([*]), at least one executed.
RUN_DONE_JS = """() => {
  const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.innerText.trim());
  return ind && ind.dataset.status === 'idle' && !prompts.some(p => p.includes('*'))
    && prompts.some(p => /\\[\\d+\\]/.test(p));
}"""
# After Run All: "done" (kernel idle, no cell queued or running, some cell executed), or
# "dropped" (idle, nothing queued, nothing executed, 3 s after the click: the requests were lost).
RUN_STATE_JS = """() => {
  const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.innerText.trim());
  if (!ind || ind.dataset.status !== 'idle' || prompts.some(p => p.includes('*'))) return false;
  if (prompts.some(p => /\\[\\d+\\]/.test(p))) return 'done';
  return Date.now() - window.runAllClickedAt > 3000 ? 'dropped' : false;
}"""
# What the learner sees on stderr (tracebacks included), as "cell N: text".
STDERR_JS = """(selector) => [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell')]
  .flatMap((cell, i) => [...cell.querySelectorAll(selector)]
    .map(o => `cell ${i + 1}: ${o.innerText.trim().slice(0, 800)}`))"""
NOT_RUN_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell')]
  .map((cell, i) => [i + 1, cell])
  .filter(([, c]) => c.classList.contains('jp-CodeCell')
    && !/\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt').innerText)
    && c.querySelector('.jp-InputArea-editor').innerText.trim() !== '')
  .map(([i]) => i)"""
# What a widget draws (outputs, images, HTML), not its controls' own read-outs.
DRAWN_JS = """(cell) => [...cell.querySelectorAll('.widget-output, .widget-html-content, img')]
  .map(e => e.tagName === 'IMG' ? e.src : e.innerHTML).join('\\n')"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("browser-lab")
    env = {"DLCOURSE_QUICK": "1", "DLCOURSE_STRICT": "1",
           "DLCOURSE_RESULTS": str(workdir / "results.json"), **kernel_threads()}
    with lab_server(workdir, env) as server:
        yield server


def kernel_threads() -> dict[str, str]:
    """Thread limits that share the cores among the ``PARALLEL`` kernels running at once.

    Left alone, each kernel's OpenBLAS and TensorFlow start one thread per core. Two
    kernels on two cores then run four busy threads, and a BLAS thread that loses its
    core holds up its partner at every product: on the 2-core CI machine lesson 02 (NumPy
    training) took about twice as long that way as with one thread per kernel. A learner's
    own `make lab` keeps the defaults.
    """
    threads = str(max(1, (os.cpu_count() or 1) // PARALLEL))
    return {name: threads for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                       "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS")}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def new_lab_page(browser, lab, workspace: str):
    """A JupyterLab page in its own browser context, on a freshly reset workspace."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.console_errors = []
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.goto(lab.url(f"lab/workspaces/{workspace}?reset"))
    page.locator(".jp-DirListing-item").first.wait_for()
    return page


@pytest.fixture
def page(browser, lab):
    """A fresh JupyterLab page, closed without saving afterwards."""
    page = new_lab_page(browser, lab, "browser-test")
    yield page
    page.context.close()
    lab.shut_down_kernels()


def screenshot(page, name: str) -> str:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=path)
    return str(path.relative_to(ROOT))


def test_the_course_kernel_and_settings_are_used(lab, page):
    """The python3 kernel is the course's (jupyter/kernels) and no news pop-up asks."""
    spec = lab.api("api/kernelspecs")["kernelspecs"]["python3"]["spec"]
    assert "--IPKernelApp.capture_fd_output=False" in spec["argv"], spec
    assert spec["env"].get("TF_CPP_MIN_LOG_LEVEL") == "2", spec
    settings = lab.api("lab/api/settings/@jupyterlab/apputils-extension:notification")
    assert settings["schema"]["properties"]["fetchNews"]["default"] == "false", settings
    page.locator("#jp-main-statusbar").wait_for()
    toasts = page.locator(".Toastify__toast")
    assert not [t for t in toasts.all_inner_texts() if "news" in t.lower()], (
        f"a news pop-up appeared (screenshot {screenshot(page, 'news-popup')})")


def test_the_token_is_on_no_command_line(lab):
    """`ps` shows every process's arguments to every local user: the token must not be there."""
    command_lines = {}
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command_lines[path.parent.name] = path.read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:  # the process ended, or is not ours to read
            continue
    server = [c for c in command_lines.values() if f"--ServerApp.port={lab.port}" in c]
    assert server, "the test's JupyterLab server is not among the processes"
    leaks = {pid: c for pid, c in command_lines.items() if lab.token in c}
    assert not leaks, f"the token is on these command lines: {leaks}"


def test_kernel_threads_share_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert set(kernel_threads().values()) == {str(8 // PARALLEL)}
    monkeypatch.setattr(os, "cpu_count", lambda: 1)  # never fewer than one thread
    assert set(kernel_threads().values()) == {"1"}
    assert "OPENBLAS_NUM_THREADS" in kernel_threads()


def click_run_all(page) -> None:
    page.evaluate("() => { window.runAllClickedAt = Date.now(); }")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def open_and_start(page, lesson: str) -> None:
    """Open ``lesson`` from the file browser, check its kernel, and click Run All."""
    item = page.locator(".jp-DirListing-item").filter(
        has=page.locator(".jp-DirListing-itemText", has_text=re.compile(rf"^{lesson}\.ipynb$")))
    item.dblclick()
    page.locator(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator").wait_for()
    ready = page.wait_for_function(KERNEL_READY_JS, timeout=120_000).json_value()
    assert not ready.startswith("dialog"), f"opening {lesson} asked instead: {ready}"
    assert ready == "Python 3 (ipykernel) | Idle", f"{lesson} started another kernel: {ready}"
    click_run_all(page)


def run_state(page, meanwhile) -> str:
    """RUN_STATE_JS's answer once it has one; ``meanwhile()`` is called every 2 s until then."""
    deadline = time.monotonic() + RUN_LIMIT_MS / 1000
    while True:
        try:
            return page.wait_for_function(RUN_STATE_JS, timeout=2000, polling=500).json_value()
        except sync_api.TimeoutError:
            if time.monotonic() > deadline:
                raise AssertionError(f"Run All still running after {RUN_LIMIT_MS / 1000:.0f} s "
                                     "(BROWSER_LESSON_TIMEOUT)") from None
            meanwhile()


def wait_for_run_all(page, lesson: str, meanwhile=lambda: None) -> None:
    """Wait until the Run All of ``lesson`` is over; stops at the first problem."""
    for attempt in (1, 2):
        state = run_state(page, meanwhile)
        stopped = state == "done" and page.evaluate(NOT_RUN_JS) and not page.evaluate(
            STDERR_JS, STDERR)
        if attempt == 1 and (state == "dropped" or stopped):
            # JupyterLab sometimes re-opens its kernel websocket just after the kernel
            # started, dropping the queued cells without an error. Ask once more.
            print(f"{lesson}: Run All stopped without an error ({state}); asking again")
            click_run_all(page)
            continue
        assert state == "done", "Run All Cells ran no cell, twice"
        return


class LessonPages:
    """``PARALLEL`` lessons run at a time on the one server and browser.

    The test of a lesson takes its page (opening the lesson and clicking Run All if that
    has not happened yet) and, while it waits for that Run All, keeps ``PARALLEL`` lessons
    running: the rest are started from the last one backwards, because the later lessons
    are the longer ones and one of them left to run alone at the end would leave a core
    idle. A lesson whose Run All is over keeps its page until its own test has looked.
    """

    def __init__(self, browser, lab, order: list[str]):
        self.browser, self.lab = browser, lab
        self.queue = order[::-1]  # not started yet, the next to start first
        self.started = {}  # lesson -> (page, seconds at start, problem while starting)
        self.running = {}  # lesson -> page, while its Run All may still be going on

    def _start(self, lesson: str) -> None:
        if lesson in self.started:
            return
        self.queue.remove(lesson)
        page, problem = new_lab_page(self.browser, self.lab, lesson), None
        try:
            open_and_start(page, lesson)
            self.running[lesson] = page
        except (AssertionError, sync_api.Error) as error:
            problem = error  # raised in the lesson's own test, with its screenshot
        self.started[lesson] = (page, time.perf_counter(), problem)

    def keep_busy(self) -> None:
        """Start queued lessons while fewer than ``PARALLEL`` run and fewer than
        ``MAX_OPEN`` wait for their tests."""
        for lesson, page in list(self.running.items()):
            try:
                finished = page.evaluate(RUN_STATE_JS)
            except sync_api.Error:  # that page broke: its own test will say how
                finished = True
            if finished:
                del self.running[lesson]
        while self.queue and len(self.running) < PARALLEL and len(self.started) < MAX_OPEN:
            self._start(self.queue[0])

    def take(self, lesson: str):
        """``(page, when Run All was clicked, problem while starting or None)`` of
        ``lesson``, started now if it was not yet."""
        self._start(lesson)
        self.keep_busy()
        return self.started.pop(lesson)

    def close(self, page, lesson: str) -> None:
        self.running.pop(lesson, None)
        page.context.close()
        self.lab.shut_down_kernels(f"{lesson}.ipynb")

    def close_all(self) -> None:
        for lesson, (page, _, _) in list(self.started.items()):
            self.close(page, lesson)


@pytest.fixture(scope="module")
def lesson_pages(browser, lab, request):
    order = [item.callspec.params["lesson"] for item in request.session.items
             if getattr(item, "originalname", "") == "test_lesson_runs_cleanly_in_the_browser"]
    pages = LessonPages(browser, lab, order)
    yield pages
    pages.close_all()


def move_one_widget(page) -> str:
    """Move the first interactive control one step and wait until what it draws changes.

    Returns what was moved (or that the lesson has no control, which is printed, not failed).
    """
    interact = page.locator(".jp-NotebookPanel .widget-interact").first
    if not interact.count():
        return "no ipywidgets interact control to move"
    interact.scroll_into_view_if_needed()
    cell = interact.locator("xpath=ancestor::div[contains(@class, 'jp-Cell ')][1]")
    before = cell.evaluate(DRAWN_JS)
    handle = interact.locator(".noUi-handle").first
    if handle.count():
        now = float(handle.get_attribute("aria-valuenow"))
        top = float(handle.get_attribute("aria-valuemax"))
        handle.focus()
        readout = interact.locator(".widget-readout").first
        moved = f"slider {readout.inner_text()} -> "
        page.keyboard.press("ArrowRight" if now < top else "ArrowLeft")
    else:
        select = interact.locator("select").first
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex].text")
        choice = next(o for o in options if o != current)
        select.select_option(label=choice)
        moved = f"dropdown {current} -> {choice}"
    button = interact.locator("button")
    if button.count():  # interact_manual: the learner presses its button
        button.first.click()
    page.wait_for_function(f"([c, b]) => ({DRAWN_JS})(c) !== b", arg=[cell.element_handle(),
                           before], timeout=RUN_LIMIT_MS, polling=250)
    page.wait_for_function(RUN_DONE_JS, timeout=RUN_LIMIT_MS, polling=250)
    if handle.count():
        moved += readout.inner_text()
    return moved


def check_ran_all_cleanly(page, shot_name: str, noise: list[str]) -> tuple[str, Path]:
    """After Run All (``noise``: the stderr and errors it left on screen): nothing on stderr,
    every cell run, one widget moved without new noise; (what moved, the screenshot)."""
    assert not noise, "error or stderr output the learner sees:\n" + "\n".join(noise)
    not_run = page.evaluate(NOT_RUN_JS)
    assert not not_run, f"Run All did not reach cells {not_run}"
    moved = move_one_widget(page)
    noise = page.evaluate(STDERR_JS, STDERR)
    assert not noise, f"after moving a widget ({moved}):\n" + "\n".join(noise)
    return moved, screenshot(page, shot_name)


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_cleanly_in_the_browser(lesson_pages, lesson):
    page, started, problem = lesson_pages.take(lesson)
    try:
        if problem:
            raise problem
        wait_for_run_all(page, lesson, meanwhile=lesson_pages.keep_busy)
        ran = time.perf_counter() - started
        noise = page.evaluate(STDERR_JS, STDERR)
        if noise and NO_MIRROR and all("MissingDataError" in line for line in noise):
            pytest.skip(f"{lesson} needs data files this machine can neither find nor download "
                        f"(no DLCOURSE_DATA_MIRROR, no network): {noise[0]}")
        moved, shot = check_ran_all_cleanly(page, lesson, noise)
        print(f"{lesson}: Run All {ran:.0f} s from its click, {moved}, "
              f"{time.perf_counter() - started:.0f} s in all, screenshot {shot}")
    except (AssertionError, sync_api.Error) as problem:
        shot = screenshot(page, f"{lesson}-failed")
        pytest.fail(f"{lesson}: {problem} (screenshot {shot}; server log {lesson_pages.lab.log}; "
                    f"page errors {page.console_errors[:3]})", pytrace=False)
    finally:
        lesson_pages.close(page, lesson)
