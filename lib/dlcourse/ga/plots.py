"""Pictures for the genetic-algorithm lesson: bit grids, crossover, the roulette wheel, curves."""

import matplotlib.pyplot as plt
import numpy as np

from ..core import validate
from .operators import solve_knapsack


def show_bits(ax, rows: np.ndarray, title: str, row_labels=None) -> None:
    """Draw a ``(k, n)`` 0/1 array as a grid of cells (dark = 1), one row per solution."""
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    ax.imshow(rows, cmap="Greys", vmin=0, vmax=1.6, aspect="equal")
    k, n = rows.shape
    for i in range(k):
        for j in range(n):
            ax.text(j, i, int(rows[i, j]), ha="center", va="center",
                    color="white" if rows[i, j] else "black", fontsize=8)
    ax.set_xticks(range(n), [str(j) for j in range(n)], fontsize=7)
    ax.set_yticks(range(k), row_labels if row_labels is not None else range(k), fontsize=8)
    ax.set_xlabel("gene (item) j")
    ax.set_title(title, fontsize=10)


def plot_crossover(parent_a: np.ndarray, parent_b: np.ndarray, mask: np.ndarray,
                   child: np.ndarray):
    """Parents, mask and child of one mating, stacked: each ``(n,)``. Returns the figure."""
    fig, axes = plt.subplots(4, 1, figsize=(0.45 * len(parent_a) + 1.5, 5.2))
    for ax, row, name in zip(axes, (parent_a, parent_b, mask, child),
                             ("parent A", "parent B", "mask (1 = take A's gene)", "child"),
                             strict=True):
        show_bits(ax, row[None, :], name, [""])
        if name != "child":
            ax.set_xlabel("")
            ax.set_xticks([])
    fig.tight_layout()
    return fig


def plot_roulette(weights: np.ndarray, balls=None, labels=None):
    """The roulette wheel (a pie with one slice per solution, as wide as its weight) beside
    the same weights as a cumulative bar with the uniform draws ``balls`` marked."""
    weights = np.asarray(weights, dtype=float)
    labels = labels if labels is not None else [f"x{i}" for i in range(weights.size)]
    fig, (pie_ax, bar_ax) = plt.subplots(1, 2, figsize=(10, 3.6),
                                         gridspec_kw={"width_ratios": [1, 1.6]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colors = [colors[i % len(colors)] for i in range(weights.size)]
    shown = np.flatnonzero(weights > 0)
    pie_ax.pie(weights[shown], labels=[f"{labels[i]}\n{weights[i] / weights.sum():.0%}"
                                       for i in shown],
               colors=[colors[i] for i in shown], startangle=90, counterclock=False,
               wedgeprops={"edgecolor": "white"})
    pie_ax.set_title("roulette wheel: slice ∝ fitness")
    cdf = np.cumsum(weights) / weights.sum()
    left = np.concatenate([[0.0], cdf[:-1]])
    for i, (lo, width) in enumerate(zip(left, weights / weights.sum(), strict=True)):
        bar_ax.barh(0, width, left=lo, color=colors[i], edgecolor="white")
        if width > 0:
            bar_ax.text(lo + width / 2, 0, labels[i], ha="center", va="center", fontsize=8)
    if balls is not None:
        for u in np.atleast_1d(balls):
            bar_ax.axvline(u, color="black", lw=1.5)
            bar_ax.annotate(f"u={u:.2f}", (u, 0.5), ha="center", fontsize=8)
    bar_ax.set_xlim(0, 1)
    bar_ax.set_ylim(-0.5, 0.65)
    bar_ax.set_yticks([])
    bar_ax.set_xlabel("cumulative probability (the CDF); a draw u lands in one slice")
    bar_ax.set_title("the same wheel unrolled: searchsorted(cdf, u)")
    fig.tight_layout()
    return fig


def plot_history(history: dict, optimum: float | None = None, title: str = "", axes=None):
    """Best and mean feasible objective (left) and feasible fraction (right) per generation."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    gens = np.arange(history["best"].size)
    axes[0].plot(gens, history["best"], label="best feasible so far")
    axes[0].plot(gens, history["mean"], label="mean of feasible rows", alpha=0.7)
    if optimum is not None:
        axes[0].axhline(optimum, color="black", ls="--", lw=1, label="exact optimum")
    axes[0].set_xlabel("generation")
    axes[0].set_ylabel("objective o·x")
    axes[0].set_title(f"fitness per generation {title}")
    axes[0].legend(fontsize=8, loc="lower right")
    axes[1].plot(gens, history["feasible"], color="tab:green")
    axes[1].set_ylim(0, 1.05)
    axes[1].set_xlabel("generation")
    axes[1].set_ylabel("fraction of feasible rows")
    axes[1].set_title(f"feasible fraction {title}")
    return axes


def explore(values, weights, capacity, optimum: float, generations: int, seed: int = 0):
    """Callback for the lesson's widget: run the GA with the chosen knobs and plot the curves."""
    seed = validate.seed("seed", seed, allow_none=True)  # refused now, not at the first redraw
    def run(mutation: float = 0.04, population: int = 100, crossover: str = "uniform") -> None:
        res = solve_knapsack(values, weights, capacity, population=population,
                             generations=generations, mutation=mutation, seed=seed,
                             crossover=crossover)
        gap = (optimum - res.value) / optimum
        plot_history(res.history, optimum,
                     f"(p_mut={mutation:.3f}, k={population}, {crossover}; gap {gap:.2%})")
        plt.show()
    return run
