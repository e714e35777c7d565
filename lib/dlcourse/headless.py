"""Runs that nobody watches: telling them from a notebook open in a browser, and bounding them.

**Who is watching.** JupyterLab and Notebook 7 (``make lab``) name the cell they ask the
kernel to run: the execute_request's metadata carries its ``cellId``, which ipykernel
hands to IPython as ``ExecutionInfo.cell_id``. nbclient sends no cell id, and so neither
do papermill, ``jupyter nbconvert --execute`` and ``jupyter execute``, which run through
it; nbval and ``jupyter console`` send none either, and outside a kernel (a script,
pytest) there is no cell at all. Such a run is *headless*: no control can be moved and
nothing renders a widget, so ``interact.show`` draws its figure once. ``DLCOURSE_BATCH=1``
(``make course``) asks for the same. The price of reading the request rather than
guessing from process names: a front end that sends no cell id (the classic Notebook 6)
is taken for headless too and shows the static figure, as does Voilà.

**A time limit for every headless cell.** A direct papermill or nbconvert run has no
cell time limit of its own, so a cell that never ends (a stuck download, a loop that
does not converge) would hold the run forever, with nobody there to press Stop. Once
``dlcourse`` is imported (from the next cell on), a cell without a cell id that runs
longer than ``DLCOURSE_CELL_TIMEOUT`` seconds is interrupted as the Stop button would
(SIGINT: the cell fails with KeyboardInterrupt and the run ends with an error), after
one line on stderr naming the cell and the setting. The default is generous: 600 s in
quick mode (a whole lesson takes about a minute), 4 hours in full mode (what ``make
course`` allows a cell); ``DLCOURSE_CELL_TIMEOUT=0`` turns it off. A cell sent by
JupyterLab is never interrupted, whatever the settings: a learner's training run may
take as long as it takes. (A run that hangs after its cell ended, in nbclient itself,
is out of the kernel's reach: ``interact`` explains the one the course met and avoids it.)
"""

import _thread
import signal
import sys
import threading

from .config import SettingError, env, quick_mode, switch
from .core import finite_number

__all__ = ["CellLimit", "cell_timeout", "headless", "install", "watched"]

QUICK_LIMIT_S = 600.0
FULL_LIMIT_S = 4 * 3600.0


def watched() -> bool:
    """True when the running cell came from a front end that shows it (a ``cellId``)."""
    shell = running_kernel_shell()
    if shell is None:
        return False
    metadata = shell.kernel.get_parent().get("metadata") or {}
    return bool(metadata.get("cellId"))


def headless() -> bool:
    """True when nobody can move a control: ``DLCOURSE_BATCH=1``, or no front end watches."""
    return switch("DLCOURSE_BATCH") or not watched()


def cell_timeout() -> float | None:
    """Seconds a headless cell may run: ``$DLCOURSE_CELL_TIMEOUT``, else 600 (quick mode)
    or 14400 (full mode); None (no limit) for ``DLCOURSE_CELL_TIMEOUT=0``."""
    value = env("DLCOURSE_CELL_TIMEOUT")
    if value is None:
        return QUICK_LIMIT_S if quick_mode() else FULL_LIMIT_S
    try:
        seconds = finite_number("DLCOURSE_CELL_TIMEOUT", float(value), minimum=0)
    except ValueError:
        raise SettingError(f"DLCOURSE_CELL_TIMEOUT={value!r} is not a number of seconds: "
                           "set it to the seconds a cell may run, or 0 for no limit") from None
    return seconds or None


class CellLimit:
    """The watchdog: IPython's ``pre_run_cell`` starts a timer for a headless cell,
    ``post_run_cell`` stops it; when it fires, the kernel's main thread gets SIGINT."""

    def __init__(self):
        self.timer = None

    def start(self, info) -> None:
        """``pre_run_cell`` callback; ``info`` is IPython's ExecutionInfo."""
        self.stop()
        if info.cell_id:  # a browser's cell: never interrupted
            return
        limit = cell_timeout()
        if limit is None:
            return
        self.timer = threading.Timer(limit, self.interrupt, args=(info.raw_cell, limit))
        self.timer.daemon = True
        self.timer.start()

    def stop(self, result=None) -> None:
        """``post_run_cell`` callback (``result``: IPython's ExecutionResult, unused)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    @staticmethod
    def interrupt(source: str, limit: float) -> None:
        first_line = next((line.strip() for line in source.splitlines() if line.strip()), "")
        print(f"dlcourse: the cell starting {first_line[:80]!r} ran longer than {limit:g} s, "
              "the limit of a headless run: interrupting it (set DLCOURSE_CELL_TIMEOUT to "
              "more seconds, or 0 for no limit)", file=sys.stderr, flush=True)
        if hasattr(signal, "pthread_kill"):
            # To the main thread itself, so that a sleep or a wait there ends at once.
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        else:  # Windows: KeyboardInterrupt at the cell's next Python line
            _thread.interrupt_main()


def running_kernel_shell():
    """The IPython shell of the Jupyter kernel this process is, or None."""
    ipython = sys.modules.get("IPython")  # never imported here just to learn it is absent
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if hasattr(shell, "kernel") else None


def install() -> None:
    """Register the cell limit in this kernel (once); nothing outside a kernel."""
    shell = running_kernel_shell()
    if shell is None or any(isinstance(getattr(c, "__self__", None), CellLimit)
                            for c in shell.events.callbacks["pre_run_cell"]):
        return
    limit = CellLimit()
    shell.events.register("pre_run_cell", limit.start)
    shell.events.register("post_run_cell", limit.stop)
