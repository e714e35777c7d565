"""dlcourse.interact and dlcourse.headless: live widgets in a browser; in a headless run
(papermill, nbclient, DLCOURSE_BATCH=1) one static call, and a time limit for each cell."""

import os
import subprocess
import sys
import time
import types
from pathlib import Path

import ipywidgets
import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from dlcourse import headless, interact
from dlcourse.config import SettingError

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
DRAW = ("import time\n"
        "import matplotlib.pyplot as plt\n"
        "def draw(n=3):\n"
        "    fig, ax = plt.subplots(figsize=(1.5, 1.5))\n"
        "    ax.plot(range(n))\n"
        "    plt.show()\n")


def draw(n=6, padding="SAME", scale=1.0, label="x"):
    return (n, padding, scale, label)


def test_starting_values_follow_ipywidgets_rules():
    values = interact.starting_values(
        draw, n=(3, 12), padding=["VALID", "SAME"],
        scale=ipywidgets.FloatSlider(value=2.5), label=ipywidgets.fixed("y"))
    # abbreviations start at the function's default, control objects at their value
    assert values == {"n": 6, "padding": "SAME", "scale": 2.5, "label": "y"}


def test_starting_values_without_a_default_take_the_first_entry():
    def no_defaults(n, padding):
        return n, padding
    assert interact.starting_values(no_defaults, n=(3, 12), padding=["VALID", "SAME"]) == {
        "n": 3, "padding": "VALID"}


def test_unknown_control_name_is_named():
    with pytest.raises(TypeError, match="draw\\(\\) has no argument 'size'"):
        interact.starting_values(draw, size=(1, 4))


def test_batch_run_calls_the_function_once_without_widgets(monkeypatch):
    monkeypatch.setenv("DLCOURSE_BATCH", "1")
    calls = []
    monkeypatch.setattr(ipywidgets, "interactive",
                        lambda *a, **k: pytest.fail("a widget was built in a batch run"))
    assert interact.show(lambda n=4, k=2: calls.append((n, k)), n=(1, 9),
                         k=ipywidgets.IntSlider(value=3)) is None
    assert calls == [(4, 3)]


def test_live_run_displays_an_interactive_widget(monkeypatch):
    monkeypatch.delenv("DLCOURSE_BATCH", raising=False)
    monkeypatch.setattr(headless, "watched", lambda: True)  # a browser sent the cell
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    assert interact.show(draw, n=(3, 12)) is None
    assert len(shown) == 1 and isinstance(shown[0], ipywidgets.interactive)
    assert shown[0].children[0].value == 6  # the slider starts at the default


def test_outside_a_browser_show_draws_once(monkeypatch):
    """No front end that can render a widget (here: no kernel at all), no DLCOURSE_BATCH."""
    monkeypatch.delenv("DLCOURSE_BATCH", raising=False)
    monkeypatch.setattr(ipywidgets, "interactive",
                        lambda *a, **k: pytest.fail("a widget was built with no front end"))
    calls = []
    interact.show(lambda n=4: calls.append(n), n=(1, 9))
    assert calls == [4] and not headless.watched() and headless.headless()


def env_without_batch(**extra) -> dict:
    """The environment of a run by hand: no DLCOURSE_BATCH, and no MPLBACKEND (make test sets
    Agg, under which a kernel's plt.show() draws nothing into the notebook)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DLCOURSE_BATCH", "MPLBACKEND")}
    return {**env, **extra}


@pytest.mark.slow
def test_a_direct_papermill_run_of_show_cells_finishes_with_every_figure(tmp_path):
    """papermill run by hand, without DLCOURSE_BATCH: lesson 08 stopped for good at its
    explorer cell (kernel idle, papermill waiting). On the old code this notebook hung
    in two runs of three; in the others each cell held a widget instead of its figure."""
    cells = [DRAW + "from dlcourse import interact"]
    cells += [f"interact.show(draw, n=(1, {k + 2}))" for k in range(40)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                 "display_name": "Python 3"}
    source, executed = tmp_path / "show.ipynb", tmp_path / "executed.ipynb"
    nbformat.write(nb, source)
    papermill = Path(sys.executable).parent / "papermill"
    try:
        run = subprocess.run([str(papermill), str(source), str(executed), "--no-progress-bar"],
                             env=env_without_batch(), capture_output=True, text=True,
                             timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("papermill still waited after 240 s on a notebook of 41 short cells")
    assert run.returncode == 0, run.stderr[-2000:]
    for cell in nbformat.read(executed, as_version=4).cells[1:]:
        kinds = [set(o.get("data", {})) for o in cell.outputs]
        assert any("image/png" in k for k in kinds), (cell.source, kinds)
        assert not any(WIDGET_VIEW in k for k in kinds), (cell.source, kinds)


def execute(kc, code: str, cell_id: str | None, timeout: float = 30):
    """Run ``code`` as a front end would (``cell_id``: a browser's cell id, None as nbclient
    sends it); returns the execute_reply's content and the cell's IOPub messages."""
    metadata = {"cellId": cell_id} if cell_id else {}
    msg = kc.session.msg("execute_request", {"code": code, "silent": False},
                         metadata=metadata)
    kc.shell_channel.send(msg)
    deadline, published = time.monotonic() + timeout, []
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            break
    while True:
        out = kc.get_iopub_msg(timeout=10)
        if out["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        if out["msg_type"] == "status" and out["content"]["execution_state"] == "idle":
            return reply["content"], published
        published.append(out)


@pytest.fixture(scope="module")
def kernel():
    """A kernel whose headless cells may run 2 s (one for the module: each takes seconds)."""
    km, kc = start_new_kernel(kernel_name="python3",
                              env=env_without_batch(DLCOURSE_CELL_TIMEOUT="2"))
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_a_browser_cell_keeps_its_widget_and_is_never_interrupted(kernel):
    reply, _ = execute(kernel, "import time, dlcourse\ntime.sleep(4)", cell_id="lab-cell-1")
    assert reply["status"] == "ok", reply  # twice the limit: a browser's cell runs on
    reply, published = execute(kernel, DRAW + "from dlcourse import interact\n"
                               "interact.show(draw, n=(1, 5))", cell_id="lab-cell-2")
    assert reply["status"] == "ok", reply
    assert any(WIDGET_VIEW in m["content"].get("data", {}) for m in published)


@pytest.mark.slow
def test_a_headless_cell_draws_once_without_a_widget(kernel):
    reply, published = execute(kernel, DRAW + "from dlcourse import interact\n"
                               "interact.show(draw, n=(1, 5))", cell_id=None)
    assert reply["status"] == "ok", reply
    assert not [m for m in published if m["msg_type"] == "comm_open"]
    assert any("image/png" in m["content"].get("data", {}) for m in published)


@pytest.mark.slow
def test_a_headless_cell_is_interrupted_past_its_limit(kernel):
    execute(kernel, "import time, dlcourse", cell_id=None)
    start = time.monotonic()
    try:
        reply, published = execute(kernel, "time.sleep(60)  # stuck", cell_id=None, timeout=20)
    except Exception as error:  # queue.Empty: no reply in 20 s
        pytest.fail(f"the headless cell ran on past its 2 s limit ({type(error).__name__})")
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
    assert time.monotonic() - start < 15
    stderr = "".join(m["content"]["text"] for m in published
                     if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
    assert "'time.sleep(60)  # stuck' ran longer than 2 s" in stderr
    assert "DLCOURSE_CELL_TIMEOUT" in stderr


def test_cell_limit_arms_only_for_a_cell_without_a_front_end(monkeypatch):
    monkeypatch.setenv("DLCOURSE_CELL_TIMEOUT", "30")
    limit = headless.CellLimit()
    limit.start(types.SimpleNamespace(cell_id="lab-cell", raw_cell="x = 1"))
    assert limit.timer is None
    limit.start(types.SimpleNamespace(cell_id=None, raw_cell="x = 1"))
    assert limit.timer is not None and limit.timer.interval == 30.0
    timer = limit.timer
    limit.stop()
    assert limit.timer is None and timer.finished.is_set()


@pytest.mark.parametrize(("quick", "value", "seconds"), [
    ("1", None, 600.0), ("0", None, 14400.0), ("0", "90", 90.0), ("1", "0", None)])
def test_cell_timeout_defaults_by_mode_and_zero_means_none(monkeypatch, quick, value, seconds):
    monkeypatch.setenv("DLCOURSE_QUICK", quick)
    if value is None:
        monkeypatch.delenv("DLCOURSE_CELL_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("DLCOURSE_CELL_TIMEOUT", value)
    assert headless.cell_timeout() == seconds


@pytest.mark.parametrize("value", ["ten", "-5", "nan", "inf"])
def test_cell_timeout_rejects_what_is_not_a_number_of_seconds(monkeypatch, value):
    monkeypatch.setenv("DLCOURSE_CELL_TIMEOUT", value)
    with pytest.raises(SettingError, match="DLCOURSE_CELL_TIMEOUT"):
        headless.cell_timeout()
