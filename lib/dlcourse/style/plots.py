"""Lesson 06's figures and widget: images side by side, and the α/β explorer.

matplotlib and ipywidgets are imported here, where figures are drawn, so that the
computing modules (and ``import dlcourse.style``) stay light.
"""

import io

import matplotlib.pyplot as plt
from PIL import Image

from ..core import choice, count
from .images import to_uint8
from .optimise import transfer


def show_images(images, titles=None, *, suptitle: str = "", size: float = 2.6, axes=None):
    """Show images ``(H, W, 3)`` 0-255 side by side, one title each; returns the axes."""
    images = list(images)
    titles = list(titles) if titles is not None else [""] * len(images)
    if len(titles) != len(images):
        raise ValueError(f"{len(titles)} titles for {len(images)} images")
    if axes is None:
        _, axes = plt.subplots(1, len(images), figsize=(size * len(images), size * 1.15),
                               squeeze=False)
        axes = axes[0]
    for ax, img, title in zip(axes, images, titles, strict=True):
        ax.imshow(to_uint8(img))
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if suptitle:
        axes[0].figure.suptitle(suptitle)
    axes[0].figure.tight_layout()
    return axes


def png_bytes(image) -> bytes:
    """PNG encoding of an RGB image ``(H, W, 3)`` 0-255 (for an ``ipywidgets.Image``)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="png")
    return buffer.getvalue()


def explore(content, paintings: dict, size: int, max_steps: int, init: str = "noise",
            **transfer_kwargs):
    """``(widget, run)``: controls plus a live image; ``run(...)`` is what the button calls.

    content: RGB photo ``(H, W, 3)``; paintings: {name: RGB painting}; size: pixels of
    the generated square image; max_steps: the steps slider's upper end (it moves in
    tenths of it, at least 1); init: where runs start, ``"noise"`` or ``"content"``
    (the dropdown's first value). Nothing runs until the button is pressed (or ``run``
    is called); the image is redrawn about ten times per run through ``transfer``'s
    callback.
    """
    import ipywidgets as widgets  # only where a widget is drawn: the package imports fast

    if not paintings:
        raise ValueError("give at least one painting")
    max_steps = count("max_steps", max_steps)
    starts = ["noise", "content"]
    choice("init", init, starts)
    stride = max(1, max_steps // 10)
    picture = widgets.Image(format="png", width=max(256, 2 * size))
    status = widgets.HTML("press <b>run</b> to start")

    def show(n, image, parts):
        picture.value = png_bytes(image)
        status.value = (f"gradient evaluation {n}: total {parts['total']:.3g} = "
                        f"α·content {parts['content']:.3g} + β·style {parts['style']:.3g}")

    def run(log10_ratio: float = -3.0, painting: str = next(iter(paintings)),
            steps: int = max_steps, init: str = init) -> None:
        ratio = 10.0**log10_ratio
        image, hist = transfer(content, paintings[painting], int(steps), alpha=ratio, beta=1.0,
                               size=size, init=init, callback=show,
                               callback_every=max(1, int(steps) // 10), **transfer_kwargs)
        picture.value = png_bytes(image)
        status.value = (f"done: α/β = {ratio:.0e}, {painting}, {int(steps)} steps from {init}; "
                        f"loss {hist['total'][0]:.3g} → {hist['total'][-1]:.3g} "
                        f"({hist['description']})")

    controls = widgets.interactive(
        run, {"manual": True, "manual_name": "run"},
        log10_ratio=widgets.FloatSlider(value=-3.0, min=-6.0, max=1.0, step=0.5,
                                        description="log₁₀ α/β"),
        painting=widgets.Dropdown(options=list(paintings), description="painting"),
        steps=widgets.IntSlider(value=max_steps, min=stride, max=max_steps, step=stride,
                                description="steps"),
        init=widgets.Dropdown(options=starts, value=init, description="start from"),
    )
    return widgets.VBox([controls, picture, status]), run
