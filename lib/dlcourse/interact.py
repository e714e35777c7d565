"""Live controls for a figure, shared by every lesson: ``interact.show(function, **controls)``.

In a notebook open in a browser it displays ``ipywidgets.interactive``. In a headless run
(papermill, nbconvert, nbclient, nbval, ``DLCOURSE_BATCH=1``; see ``dlcourse.headless`` for
how it is told) nobody can move a control, so the function is called once with the
controls' starting values: the executed notebook and the rendered site show that figure
instead of a dead slider.

Drawing once is also what keeps a direct papermill run from waiting forever. The
function's output goes into the widget's Output area, and nbclient, standing in for the
browser, answers each output with a ``comm_msg`` on the shell channel while the cell still
runs. That send races with the cell's ``execute_reply`` arriving on the same zmq.asyncio
socket: now and then the reply sits in nbclient's socket (``ZMQ_EVENTS`` says readable)
but the asyncio poll that waits for it is never woken, so the kernel is idle and papermill
waits for good (jupyter/nbclient#312; lesson 08's explorer cell, and two runs in three of a
notebook of sixty ``show`` cells). Without a widget nothing is sent.
"""

import inspect

from . import headless

__all__ = ["show", "starting_values"]


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
    """Display ``function``'s output under live controls (or once, in a headless run).

    controls: argument name -> an ipywidgets control, ``ipywidgets.fixed(value)``, or an
    abbreviation ``ipywidgets.interactive`` accepts. Returns None, so that the cell does
    not display the widget a second time.
    """
    if headless.headless():
        function(**starting_values(function, **controls))
        return
    import ipywidgets
    from IPython.display import display

    display(ipywidgets.interactive(function, **controls))
