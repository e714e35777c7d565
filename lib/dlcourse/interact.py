"""Live controls for a figure, shared by every lesson: ``interact.show(function, **controls)``.

In a notebook with a browser attached it displays ``ipywidgets.interactive``. In a batch
run (``DLCOURSE_BATCH=1``, which ``make course`` sets) nobody can move a control, and
nbclient can wait forever on a cell that opens widgets (jupyter/nbclient#312), so the
function is called once with the controls' starting values: the executed notebook and
the rendered site show that figure instead of a dead slider.
"""

import inspect

from .config import env

__all__ = ["batch_run", "show", "starting_values"]


def batch_run() -> bool:
    """True when no one can move a control: ``DLCOURSE_BATCH=1``."""
    return env("DLCOURSE_BATCH") == "1"


def starting_values(function, **controls) -> dict:
    """The value each control starts at, as ``ipywidgets.interactive`` would choose it.

    A control object (slider, dropdown, ``ipywidgets.fixed``) starts at its ``value``; an
    abbreviation (a ``(min, max)`` tuple, a list of options) starts at the function's
    default for that argument, else at its first entry.
    """
    params = inspect.signature(function).parameters
    values = {}
    for name, control in controls.items():
        if name not in params:
            raise TypeError(f"{function.__name__}() has no argument {name!r} for a control")
        default = params[name].default
        if hasattr(control, "value"):
            values[name] = control.value
        elif default is not inspect.Parameter.empty:
            values[name] = default
        elif isinstance(control, tuple | list) and control:
            values[name] = control[0]
        else:
            values[name] = control
    return values


def show(function, **controls) -> None:
    """Display ``function``'s output under live controls (or once, in a batch run).

    controls: argument name -> an ipywidgets control, ``ipywidgets.fixed(value)``, or an
    abbreviation ``ipywidgets.interactive`` accepts. Returns None, so that the cell does
    not display the widget a second time.
    """
    if batch_run():
        function(**starting_values(function, **controls))
        return
    import ipywidgets
    from IPython.display import display

    display(ipywidgets.interactive(function, **controls))
