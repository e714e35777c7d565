"""dlcourse.interact: live widgets in a notebook, one static call in a batch run."""

import ipywidgets
import pytest

from dlcourse import interact


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
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    assert interact.show(draw, n=(3, 12)) is None
    assert len(shown) == 1 and isinstance(shown[0], ipywidgets.interactive)
    assert shown[0].children[0].value == 6  # the slider starts at the default
