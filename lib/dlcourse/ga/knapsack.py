"""Exact 0/1 knapsack solutions, and published instances with known optima.

``exact_knapsack`` is the reference the genetic algorithm is checked against:
dynamic programming over the capacity when weights and capacity are integers and
the table is small, otherwise an integer program solved by ``scipy.optimize.milp``
(HiGHS branch and bound).

``INSTANCES`` holds the small instances P01–P08 of J. Burkardt's KNAPSACK_01 data
set (Florida State University), which collects classic test problems (P01–P07
with 5–15 items, P08 with 24 items and a capacity of 6.4 million); each comes with
its published optimal value and selection. ``tests/test_knapsack.py`` checks
every published optimum against both exact solvers.
"""

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .operators import check_problem

DP_MAX_CELLS = 20_000_000  # n * (capacity + 1) above this -> integer program


def exact_knapsack(values, weights, capacity, method: str = "auto") -> tuple[np.ndarray, float]:
    """Optimal ``(x (n,) bool, value)`` of ``max values·x s.t. weights·x <= capacity``.

    method: "dp" (integer weights and capacity only), "milp", or "auto" (DP when the
    weights are integers and n·(capacity+1) <= DP_MAX_CELLS, else MILP).
    """
    values, weights, capacity = check_problem(values, weights, capacity)
    if method not in ("auto", "dp", "milp"):
        raise ValueError(f"method must be 'auto', 'dp' or 'milp', got {method!r}")
    if values.size == 0:
        return np.zeros(0, dtype=bool), 0.0
    integral = bool(np.all(weights == np.round(weights)))
    if method == "auto":
        small = values.size * (np.floor(capacity) + 1) <= DP_MAX_CELLS
        method = "dp" if integral and small else "milp"
    if method == "dp":
        if not integral:
            raise ValueError("dynamic programming needs integer weights; use method='milp'")
        return _knapsack_dp(values, weights.astype(np.int64), int(np.floor(capacity)))
    if method == "milp":
        return _knapsack_milp(values, weights, capacity)
    raise ValueError(f"method must be 'auto', 'dp' or 'milp', got {method!r}")


def _knapsack_dp(values: np.ndarray, weights: np.ndarray, capacity: int):
    """Bellman's recursion best[i][c] = max(best[i-1][c], best[i-1][c-w_i] + v_i).

    One row of the table is kept (a (capacity+1,) vector updated item by item,
    vectorised over c) plus an (n, capacity+1) table of "item i taken" flags to
    trace the optimal selection back.
    """
    n = values.size
    best = np.zeros(capacity + 1)
    take = np.zeros((n, capacity + 1), dtype=bool)
    for i in range(n):
        w, v = int(weights[i]), values[i]
        if w > capacity:
            continue
        with_item = np.full(capacity + 1, -np.inf)
        with_item[w:] = best[: capacity + 1 - w] + v
        take[i] = with_item > best
        best = np.maximum(best, with_item)
    x = np.zeros(n, dtype=bool)
    c = capacity
    for i in range(n - 1, -1, -1):
        if take[i, c]:
            x[i] = True
            c -= int(weights[i])
    return x, float(values @ x)


def _knapsack_milp(values: np.ndarray, weights: np.ndarray, capacity: float):
    n = values.size
    result = optimize.milp(
        c=-values, integrality=np.ones(n),
        bounds=optimize.Bounds(np.zeros(n), np.ones(n)),
        constraints=optimize.LinearConstraint(weights[None, :], -np.inf, capacity),
        options={"mip_rel_gap": 0.0})
    if not result.success:
        raise RuntimeError(f"scipy.optimize.milp failed: {result.message}")
    x = np.round(result.x).astype(bool)
    return x, float(values @ x)


@dataclass(frozen=True)
class Instance:
    """A published 0/1 knapsack instance and its stated optimal selection."""

    name: str
    values: tuple[int, ...]
    weights: tuple[int, ...]
    capacity: int
    optimum: int                 # the published optimal value
    selection: tuple[int, ...]   # the published optimal selection (0/1 per item)
    source: str = "J. Burkardt, KNAPSACK_01 data set, Florida State University"

    @property
    def n(self) -> int:
        return len(self.values)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, int]:
        """``(values (n,), weights (n,), capacity)`` as int64 arrays and an int."""
        return np.array(self.values), np.array(self.weights), self.capacity


def _instance(name, capacity, weights, values, selection, optimum) -> Instance:
    return Instance(name, tuple(values), tuple(weights), capacity, optimum, tuple(selection))


INSTANCES: dict[str, Instance] = {inst.name: inst for inst in (
    _instance("P01", 165, [23, 31, 29, 44, 53, 38, 63, 85, 89, 82],
              [92, 57, 49, 68, 60, 43, 67, 84, 87, 72], [1, 1, 1, 1, 0, 1, 0, 0, 0, 0], 309),
    _instance("P02", 26, [12, 7, 11, 8, 9], [24, 13, 23, 15, 16], [0, 1, 1, 1, 0], 51),
    _instance("P03", 190, [56, 59, 80, 64, 75, 17], [50, 50, 64, 46, 50, 5],
              [1, 1, 0, 0, 1, 0], 150),
    _instance("P04", 50, [31, 10, 20, 19, 4, 3, 6], [70, 20, 39, 37, 7, 5, 10],
              [1, 0, 0, 1, 0, 0, 0], 107),
    _instance("P05", 104, [25, 35, 45, 5, 25, 3, 2, 2], [350, 400, 450, 20, 70, 8, 5, 5],
              [1, 0, 1, 1, 1, 0, 1, 1], 900),
    _instance("P06", 170, [41, 50, 49, 59, 55, 57, 60], [442, 525, 511, 593, 546, 564, 617],
              [0, 1, 0, 1, 0, 0, 1], 1735),
    _instance("P07", 750,
              [70, 73, 77, 80, 82, 87, 90, 94, 98, 106, 110, 113, 115, 118, 120],
              [135, 139, 149, 150, 156, 163, 173, 184, 192, 201, 210, 214, 221, 229, 240],
              [1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1], 1458),
    _instance("P08", 6404180,
              [382745, 799601, 909247, 729069, 467902, 44328, 34610, 698150, 823460, 903959,
               853665, 551830, 610856, 670702, 488960, 951111, 323046, 446298, 931161, 31385,
               496951, 264724, 224916, 169684],
              [825594, 1677009, 1676628, 1523970, 943972, 97426, 69666, 1296457, 1679693,
               1902996, 1844992, 1049289, 1252836, 1319836, 953277, 2067538, 675367, 853655,
               1826027, 65731, 901489, 577243, 466257, 369261],
              [1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1],
              13549094),
)}


def random_instance(n: int, rng: np.random.Generator, max_weight: int = 100,
                    fill: float = 0.5) -> tuple[np.ndarray, np.ndarray, int]:
    """A random instance ``(values (n,), weights (n,), capacity)`` with integer data.

    Weights uniform in 1..max_weight, values correlated with weights (weight plus
    noise, which makes the problem harder than independent values), capacity
    ``fill`` times the total weight.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    weights = rng.integers(1, max_weight + 1, size=n)
    values = weights + rng.integers(1, max_weight // 5 + 2, size=n)
    return values, weights, int(fill * weights.sum())
