"""Figures of lesson 04: the batch cursors on the text, learning curves, gradient reach."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator


def draw_cursors(text: str, batch_size: int, unroll: int, windows: int = 2, width: int = 60,
                 ax=None):
    """Draw a text as a strip of characters with the B cursors and the windows they read.

    Shows the first ``width`` characters of each of the B stretches (len/B apart);
    window w of each cursor is shaded in its own colour. Returns the axes.
    """
    if not text:
        raise ValueError("the text is empty")
    segment = len(text) // batch_size
    if unroll * windows > width:
        raise ValueError(f"{windows} windows of T={unroll} do not fit in width={width}")
    ax = ax or plt.subplots(figsize=(min(16, 0.22 * width + 2), 0.55 * batch_size + 1))[1]
    colours = plt.cm.tab10(np.arange(windows) % 10)
    for b in range(batch_size):
        start = b * segment
        y = batch_size - 1 - b
        for i in range(width):
            ch = text[start + i]
            w = i // unroll
            if w < windows and i < unroll * windows:
                ax.add_patch(plt.Rectangle((i, y - 0.4), 1, 0.8, color=colours[w], alpha=0.35))
            ax.text(i + 0.5, y, "␣" if ch == " " else ("↵" if ch == "\n" else ch),
                    ha="center", va="center", fontsize=8, family="monospace")
        ax.annotate(f"cursor {b}\n@{start:,}", (0, y), xytext=(-0.5, y), ha="right",
                    va="center", fontsize=8)
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[w], alpha=0.35) for w in range(windows)]
    # above the strip, right-aligned: below it the legend covered the x-axis label
    ax.legend(handles, [f"window {w + 1} (T={unroll} steps)" for w in range(windows)],
              loc="lower right", bbox_to_anchor=(1, 1.0), ncol=windows, fontsize=8,
              frameon=False)
    ax.set_xlim(-0.2, width)
    ax.set_ylim(-0.7, batch_size - 0.3)
    ax.set_yticks([])
    ax.set_xlabel("offset from the cursor's start (characters)")
    ax.set_title(f"B={batch_size} cursors spaced len/B = {segment:,} characters apart; "
                 "row b of every batch reads cursor b's stretch", pad=22)
    return ax


def plot_learning_curves(curves: dict, baselines: dict | None = None, ax=None,
                         x: str = "chars", title: str = "held-out bits per character"):
    """Held-out bpc against characters seen (or steps) for several runs.

    curves: {label: history} with "eval_step" and "eval_bpc" (and chars per step
    in "chars"); baselines: {label: bpc} drawn as horizontal lines.
    """
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for label, hist in curves.items():
        steps = np.asarray(hist["eval_step"])
        per_step = hist["chars"][0] if hist["chars"] else 1
        xs = steps * per_step if x == "chars" else steps
        ax.plot(xs, hist["eval_bpc"], marker="o", ms=3, label=label)
    for i, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, ls="--", lw=1, color=f"C{i + len(curves)}", label=f"{label} {value:.2f}")
    ax.set_xlabel("characters seen in training" if x == "chars" else "training steps")
    ax.set_ylabel("bits per character")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_reach(ratios: dict, threshold: float = 1e-3, ax=None):
    """‖∂L/∂x_{T-k}‖ / ‖∂L/∂x_T‖ against k, log scale, for several models.

    ratios: {label: array of ratios for k = 0, 1, …}; a dotted line marks ``threshold``.
    """
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for label, ratio in ratios.items():
        ax.semilogy(np.arange(len(ratio)), ratio, label=label)
    ax.axhline(threshold, color="gray", ls=":", label=f"{threshold:g} of the size at k = 0")
    ax.set_xlabel("k: characters back from the one predicted")
    ax.set_ylabel(r"$\Vert\partial L/\partial x_{T-k}\Vert\ /\ \Vert\partial L/\partial x_T\Vert$")
    ax.set_title("how far back the gradient reaches")
    ax.legend(fontsize=8)
    return ax


def plot_unroll_lengths(unrolls, bpc: dict, ax=None, title: str = ""):
    """Held-out bpc against the unroll length T (log axis, one labelled tick per T).

    bpc: {label: one value per entry of ``unrolls``}. Only the measured T are labelled:
    matplotlib's own minor labels on a log axis of less than two decades overlap.
    """
    ax = ax or plt.subplots(figsize=(6, 4))[1]
    for label, values in bpc.items():
        ax.plot(unrolls, values, marker="o", label=label)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(list(unrolls)))
    ax.xaxis.set_major_formatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("unroll length T")
    ax.set_ylabel("held-out bits per character")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
