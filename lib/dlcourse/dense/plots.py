"""Figures of the dense-vs-conv lesson (03): which input pixels feed which output."""

from collections.abc import Sequence

from ..core import shapes
from .dense_conv import coverage, receptive_field


def plot_receptive_field(ax, input_hw: Sequence[int], size: int, stride: int,
                         output_index: Sequence[int], max_outlines: int = 120):
    """Draw on ``ax`` how many outputs read each input pixel and one output's receptive field.

    Every window is outlined when there are at most ``max_outlines`` of them; the
    window of ``output_index`` (clipped to the output map) is filled orange.
    Returns the image of the coverage counts (for a colorbar).
    """
    import matplotlib.patches as mpatches

    h, w = input_hw
    rows, cols = shapes.output_size(h, size, stride), shapes.output_size(w, size, stride)
    counts = coverage(input_hw, (size, size), (stride, stride))
    image = ax.imshow(counts, cmap="Blues", vmin=0, vmax=max(2, counts.max()), origin="upper")
    if rows * cols <= max_outlines:
        for i in range(rows):
            for j in range(cols):
                ax.add_patch(mpatches.Rectangle((j * stride - 0.5, i * stride - 0.5), size, size,
                                                fill=False, ec="0.3", lw=0.6))
    title = f"window {size}×{size}, stride {stride}: output map {rows}×{cols}"
    if rows and cols:
        i, j = min(output_index[0], rows - 1), min(output_index[1], cols - 1)
        ys, xs = receptive_field((i, j), (size, size), (stride, stride))
        ax.add_patch(mpatches.Rectangle((xs.start - 0.5, ys.start - 0.5), size, size,
                                        fill=True, alpha=0.6, fc="tab:orange", ec="tab:red", lw=2))
        title += (f"\noutput ({i}, {j}) reads rows {ys.start}–{ys.stop - 1}, "
                  f"cols {xs.start}–{xs.stop - 1}")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("input column")
    ax.set_ylabel("input row")
    return image
