"""Figures of lesson 08: faces with keypoints, predictions, receptive fields, errors.

Images are ``(96, 96)`` or ``(96, 96, 1)``; keypoints ``(30,)`` in pixels (interleaved x, y).
"""

import numpy as np

from .faces import KEYPOINT_NAMES

__all__ = ["face_grid", "heat_map_figure", "per_keypoint_bars", "receptive_field_figure",
           "show_face", "show_prediction"]

_COLOURS = np.array([(0.9, 0.1, 0.1), (0.1, 0.4, 0.95), (1.0, 0.55, 0.0)])


def _kind(j: int) -> int:
    """Colour group: 0 the person's left side, 1 the right side, 2 the middle."""
    name = KEYPOINT_NAMES[j]
    return 0 if name.startswith("left") else 1 if name.startswith("right") else 2


def show_face(ax, image, keypoints=None, title: str = "", marker="o", size=18):
    """One face with its present keypoints (left red, right blue, middle orange)."""
    ax.imshow(np.asarray(image).squeeze(), cmap="gray", vmin=0, vmax=1)
    if keypoints is not None:
        pts = np.asarray(keypoints, float).reshape(-1, 2)
        ok = ~np.isnan(pts[:, 0])
        colours = _COLOURS[[_kind(j) for j in range(len(pts))]]
        ax.scatter(pts[ok, 0], pts[ok, 1], s=size, c=colours[ok], marker=marker,
                   edgecolors="white", linewidths=0.5)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def face_grid(images, keypoints, rows: int = 2, cols: int = 6, title: str = ""):
    """A grid of the first ``rows·cols`` faces with their keypoints."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=(1.8 * cols, 1.9 * rows))
    for i, ax in enumerate(np.ravel(axes)):
        n_present = int((~np.isnan(keypoints[i, 0::2])).sum())
        show_face(ax, images[i], keypoints[i], f"face {i}: {n_present} points")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_prediction(ax, image, true, pred, title: str = ""):
    """True points (dots), predictions (crosses) and a line for each error."""
    t, p = np.asarray(true, float).reshape(-1, 2), np.asarray(pred, float).reshape(-1, 2)
    show_face(ax, image, true, title)
    for (tx, ty), (px, py) in zip(t, p, strict=True):
        if not np.isnan(tx):
            ax.plot([tx, px], [ty, py], color="yellow", linewidth=1)
    ax.scatter(p[:, 0], p[:, 1], s=22, c="lime", marker="x", linewidths=1.2)


def heat_map_figure(image, maps: dict, true=None, title: str = "", cmap="magma"):
    """One panel per entry of ``maps`` (title -> ``(96, 96)`` map), drawn over the face.

    Each map gets its own colour bar (scores and probabilities differ in range); ``true``
    ``(30,)`` in pixels adds the true points as dots.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(3.1 * len(maps), 3.2), squeeze=False)
    for ax, (name, heat) in zip(axes[0], maps.items(), strict=True):
        show_face(ax, image, true, name, size=10)
        shown = ax.imshow(np.asarray(heat), cmap=cmap, alpha=0.7)
        fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03)
        ax.set_xticks([0, 48, 95])
        ax.set_yticks([0, 48, 95])
        ax.set_xlabel("x (pixels)", fontsize=8)
        ax.set_ylabel("y (pixels)", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def per_keypoint_bars(ax, errors: dict, title: str = "RMSE per keypoint"):
    """Grouped bars: ``errors`` maps a model name to its ``(15,)`` per-point RMSE in pixels."""
    names = list(errors)
    width = 0.8 / len(names)
    x = np.arange(len(KEYPOINT_NAMES))
    for i, name in enumerate(names):
        ax.bar(x + (i - (len(names) - 1) / 2) * width, errors[name], width, label=name)
    ax.set_xticks(x, [n.replace("_", " ") for n in KEYPOINT_NAMES], rotation=60, ha="right",
                  fontsize=8)
    ax.set_ylabel("RMSE (pixels)")
    ax.set_title(title)
    ax.legend()


def receptive_field_figure(image, centre, fields: dict, title: str = ""):
    """Squares of side ``fields[scale]`` (pixels) centred on ``centre`` (x, y) over the face."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(np.asarray(image).squeeze(), cmap="gray", vmin=0, vmax=1)
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(fields)))
    for (scale, side), colour in zip(sorted(fields.items(), reverse=True), colours, strict=True):
        x0, y0 = centre[0] - side / 2, centre[1] - side / 2
        ax.add_patch(Rectangle((x0, y0), side, side, fill=False, edgecolor=colour, linewidth=2,
                               label=f"{scale}×{scale} map: {side}×{side} px"))
    ax.plot(*centre, "r+", markersize=12)
    ax.set_xlim(-0.5, image.shape[1] - 0.5)
    ax.set_ylim(image.shape[0] - 0.5, -0.5)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    return fig
