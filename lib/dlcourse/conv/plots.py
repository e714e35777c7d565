"""Figures of the convolution lesson: a kernel window sliding over an image (lesson 01's widget).

One axis of the picture is one spatial axis of a square NHWC image; padding cells
are drawn hatched, the window at step ``position`` is outlined, and the output grid
beside it shows which output "neuron" that window feeds.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from ..core import shapes


def window_geometry(n: int, k: int, stride: int, padding):
    """(pad_before, pad_after, out) for a square n×n input and k×k kernel."""
    before, after = shapes.pad_amounts(n, k, stride, padding)
    return before, after, shapes.output_size(n, k, stride, padding)


def draw_sliding_window(n: int = 7, k: int = 3, stride: int = 2, padding="SAME",
                        position: int = 0, channels: int = 3, filters: int = 8):
    """Draw the window of output position ``position`` (row-major, wraps around).

    Returns the matplotlib figure. The title states the output shape of a
    (1, n, n, channels) input convolved with (k, k, channels, filters) kernels.
    """
    before, after, out = window_geometry(n, k, stride, padding)
    position %= out * out
    row, col = divmod(position, out)
    size = n + before + after
    fig, (ax_in, ax_out) = plt.subplots(1, 2, figsize=(9, 4.2),
                                        gridspec_kw={"width_ratios": [size, max(out, 3)]})
    for i in range(size):
        for j in range(size):
            is_pad = not (before <= i < before + n and before <= j < before + n)
            ax_in.add_patch(Rectangle((j, i), 1, 1, facecolor="0.92" if is_pad else "white",
                                      edgecolor="0.6", hatch="//" if is_pad else None, lw=0.5))
    ax_in.add_patch(Rectangle((col * stride, row * stride), k, k, fill=False,
                              edgecolor="tab:red", lw=3))
    ax_in.add_patch(Rectangle((before, before), n, n, fill=False, edgecolor="black", lw=1.5))
    ax_in.set_title(f"input {n}×{n} + padding ({before} before, {after} after)\n"
                    f"kernel {k}×{k}, stride {stride}")
    for i in range(out):
        for j in range(out):
            here = (i, j) == (row, col)
            ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor="tab:red" if here else "white",
                                       edgecolor="0.4", alpha=0.8 if here else 1))
    ax_out.set_title(f"output {out}×{out}\nposition ({row}, {col})")
    for ax, extent in ((ax_in, size), (ax_out, max(out, 3))):
        ax.set_xlim(0, extent)
        ax.set_ylim(extent, 0)
        ax.set_aspect("equal")
        ax.set_xlabel("column")
        ax.set_ylabel("row")
    fig.suptitle(f"padding={padding!r}: (1, {n}, {n}, {channels}) * ({k}, {k}, {channels}, "
                 f"{filters}) → (1, {out}, {out}, {filters})")
    fig.tight_layout()
    return fig
