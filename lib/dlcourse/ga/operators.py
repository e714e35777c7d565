"""A genetic algorithm for 0/1 problems ``max o·x subject to c·x <= b`` (the knapsack).

Layout: a *population* is a ``(k, n)`` boolean array, one candidate solution per
row, one gene (item taken or not) per column. Every operator below works on the
whole population at once, with NumPy array operations instead of Python loops;
randomness comes from a ``numpy.random.Generator`` passed in, so a seed fixes
the result.

One generation of :func:`solve_knapsack`:

1. evaluate the objective ``pop @ values`` and feasibility ``pop @ weights <= capacity``;
2. remember the best feasible row seen so far (elitism);
3. breed a new population: parents are drawn among the feasible rows by roulette
   selection (:func:`roulette_select`, probabilities from :func:`selection_weights`),
   each child is a crossover of two parents followed by bit-flip mutation;
   infeasible rows therefore never reproduce: they are replaced by offspring of
   feasible ones, or re-drawn at random when fewer than two rows are feasible
   (:func:`replace_infeasible`);
4. put the elite back into row 0 so the best solution is never lost.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core import validate

Crossover = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


# ----------------------------------------------------------------------------- validation
def check_problem(values, weights, capacity) -> tuple[np.ndarray, np.ndarray, float]:
    """Validated ``(values (n,), weights (n,), capacity)`` as float64 arrays and a float.

    Raises ValueError for mismatched lengths, an empty problem, non-finite numbers,
    negative weights or a negative capacity.
    """
    values = validate.vector("values", values)
    weights = validate.vector("weights", weights)
    if values.shape != weights.shape:
        raise ValueError(f"values and weights must have the same length, got {values.size} "
                         f"values and {weights.size} weights")
    if (weights < 0).any():
        i = int(np.argmax(weights < 0))
        raise ValueError(f"weights must be non-negative, weights[{i}] = {weights[i]}")
    capacity = validate.finite_number("capacity", capacity, minimum=0)
    return values, weights, capacity


def as_population(pop) -> np.ndarray:
    """``pop`` as a ``(k, n)`` boolean array; ValueError unless it is 2-D and holds only 0/1."""
    pop = np.asarray(pop)
    if pop.ndim != 2:
        raise ValueError(f"a population must be a 2-D (k, n) array, got shape {pop.shape}")
    if pop.dtype != bool:
        if not np.isin(pop, (0, 1)).all():
            raise ValueError("a population must hold only 0/1 (or False/True) genes")
        pop = pop.astype(bool)
    return pop


# ----------------------------------------------------------------------------- operators
def init_population(k: int, n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Random ``(k, n)`` boolean population: each gene is 1 with probability ``p``."""
    k = validate.count("population size k", k)
    n = validate.count("number of genes n", n)
    p = validate.rate("initial probability p", p)
    return rng.random((k, n)) < p


def crossover_mask(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Uniform crossover mask of ``shape``: True where the child takes parent A's gene (prob. ½)."""
    return rng.random(shape) < 0.5


def uniform_crossover(parent_a: np.ndarray, parent_b: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Children ``(k, n)``: each gene comes from ``parent_a`` or ``parent_b`` with probability ½.

    Row i of the result is the child of row i of each parent array.
    """
    return _uniform(*_check_parents(parent_a, parent_b), rng)


def _uniform(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.where(crossover_mask(a.shape, rng), a, b)


def one_point_crossover(parent_a: np.ndarray, parent_b: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Children ``(k, n)``: genes before a random cut (1..n-1) from A, the rest from B."""
    return _one_point(*_check_parents(parent_a, parent_b), rng)


def _one_point(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k, n = a.shape
    if n < 2:
        return a.copy()
    cut = rng.integers(1, n, size=k)
    return np.where(np.arange(n)[None, :] < cut[:, None], a, b)


# Unchecked kernels, used inside the solver's loop (its inputs are already validated).
CROSSOVERS: dict[str, Crossover] = {"uniform": _uniform, "one-point": _one_point}


def _check_parents(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_population(a), as_population(b)
    if a.shape != b.shape:
        raise ValueError(f"parents must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def mutate(pop: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``pop`` ``(k, n)`` with each gene flipped independently with probability ``rate``."""
    return _flip(as_population(pop), validate.rate("mutation rate", rate), rng)


def _flip(pop: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    return pop ^ (rng.random(pop.shape) < rate)


def objective(pop: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Objective ``o·x`` of every row: ``(k,)`` floats."""
    return as_population(pop).astype(np.float64) @ values


def feasible(pop: np.ndarray, weights: np.ndarray, capacity: float) -> np.ndarray:
    """``(k,)`` booleans: does row x satisfy ``c·x <= b``?"""
    load = as_population(pop).astype(np.float64) @ weights
    return load <= capacity_limit(capacity)


def capacity_limit(capacity: float) -> float:
    """The capacity plus a relative tolerance of 1e-9 for rounding in ``pop @ weights``."""
    return capacity + 1e-9 * max(1.0, abs(capacity))


def selection_weights(objective_values: np.ndarray, is_feasible: np.ndarray,
                      pressure: float | None = 2.0) -> np.ndarray:
    """Non-negative roulette weights ``(k,)``: zero for infeasible rows.

    pressure=None: the weight is the objective itself (plain fitness-proportional
    selection, as in the original course; objectives must be non-negative).
    pressure=q: the objectives of feasible rows are first shifted so the worst
    feasible row sits just above zero ("windowing"), then raised to the power q.
    When all feasible objectives are nearly equal (a late population), plain
    selection is almost uniform; windowing keeps preferring the better rows.
    """
    obj = np.asarray(objective_values, dtype=np.float64)
    ok = np.asarray(is_feasible, dtype=bool)
    if obj.shape != ok.shape or obj.ndim != 1:
        raise ValueError(f"objective and feasibility must be (k,) arrays of one length, got "
                         f"{obj.shape} and {ok.shape}")
    weights = np.zeros_like(obj)
    if not ok.any():
        return weights
    if pressure is None:
        if (obj[ok] < 0).any():
            raise ValueError("plain fitness-proportional selection needs non-negative objectives")
        weights[ok] = obj[ok]
        return weights
    if pressure <= 0:
        raise ValueError(f"pressure must be positive (or None), got {pressure}")
    lo, hi = obj[ok].min(), obj[ok].max()
    eps = (hi - lo) / ok.size if hi > lo else 1.0  # the worst feasible row keeps a small chance
    weights[ok] = ((obj[ok] - lo + eps) / (hi - lo + eps)) ** pressure
    return weights


def roulette_select(weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Indices ``(size,)`` drawn with probability ``weights[i] / weights.sum()``.

    The roulette wheel: the cumulative sum of the weights cuts ``[0, total)`` into
    one slice per row, as wide as its weight; a uniform number ``u`` lands in slice
    i when ``cdf[i-1] <= u < cdf[i]``, found by binary search. Rows of weight 0 are
    never drawn.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weights must be a non-empty (k,) array, got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("roulette weights must be finite and non-negative")
    size = validate.count("number of draws", size, minimum=0)
    if w.sum() <= 0:
        raise ValueError("roulette weights are all zero: nothing can be selected")
    return _roulette(w, size, rng)


def _roulette(w: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    cdf = np.cumsum(w)
    u = rng.random(size) * cdf[-1]
    return np.minimum(np.searchsorted(cdf, u, side="right"), w.size - 1)


def breed(pop: np.ndarray, weights: np.ndarray, size: int, rng: np.random.Generator,
          crossover: Crossover = uniform_crossover) -> np.ndarray:
    """``size`` children ``(size, n)``: two roulette draws per child, then ``crossover``."""
    a = roulette_select(weights, size, rng)
    b = roulette_select(weights, size, rng)
    return crossover(pop[a], pop[b], rng)


def _breed(pop, weights, size, rng, crossover) -> np.ndarray:
    a = _roulette(weights, size, rng)
    b = _roulette(weights, size, rng)
    return crossover(pop[a], pop[b], rng)


def replace_infeasible(pop: np.ndarray, is_feasible: np.ndarray, weights: np.ndarray,
                       rng: np.random.Generator, p_init: float = 0.5, min_parents: int = 2,
                       crossover: Crossover = uniform_crossover) -> np.ndarray:
    """Copy of ``pop`` whose infeasible rows are replaced.

    With at least ``min_parents`` feasible rows, each infeasible row becomes a child
    of two feasible parents chosen by roulette on ``weights``; otherwise the
    infeasible rows are re-drawn at random (each gene 1 with probability ``p_init``).
    (The original loop code had this test backwards: it bred when too *few* parents
    existed and re-drew when there were enough.)
    """
    pop = as_population(pop)
    bad = ~np.asarray(is_feasible, dtype=bool)
    out = pop.copy()
    n_bad = int(bad.sum())
    if n_bad == 0:
        return out
    if int((~bad).sum()) >= min_parents and np.asarray(weights)[~bad].sum() > 0:
        out[bad] = breed(pop, weights, n_bad, rng, crossover)
    else:
        out[bad] = rng.random((n_bad, pop.shape[1])) < p_init
    return out


# ----------------------------------------------------------------------------- the solver
@dataclass
class GAResult:
    """What :func:`solve_knapsack` returns.

    x: (n,) bool, the best feasible solution seen (all False, the empty selection,
    if no row was ever feasible). value: its objective. found_at: the generation
    where it was first found (-1 if never). history: per generation, arrays of
    shape (generations,): "best" (best feasible objective seen so far, NaN before
    the first feasible row), "mean" (mean objective of the feasible rows, NaN when
    none) and "feasible" (fraction of feasible rows).
    """

    x: np.ndarray
    value: float
    found_at: int
    history: dict[str, np.ndarray] = field(repr=False)


def solve_knapsack(values, weights, capacity, population: int = 100, generations: int = 3000,
                   mutation: float | None = None, seed: int | None = 0, p_init: float = 0.5,
                   crossover: str = "uniform", pressure: float | None = 2.0,
                   target: float | None = None) -> GAResult:
    """Maximise ``values·x`` subject to ``weights·x <= capacity`` over x in {0, 1}^n.

    population: rows k; generations: number of generations; mutation: flip
    probability per gene (default 1/n); crossover: "uniform" or "one-point";
    pressure: see :func:`selection_weights`; target: stop early once a feasible
    solution reaches this value (the history is then shorter). Deterministic for
    a given ``seed``.
    """
    values, weights, capacity = check_problem(values, weights, capacity)
    n = values.size
    k = validate.count("population", population)
    generations = validate.count("generations", generations)
    mutation = 1.0 / n if mutation is None else validate.rate("mutation", mutation)
    p_init = validate.rate("p_init", p_init)
    if crossover not in CROSSOVERS:
        raise ValueError(f"crossover must be one of {sorted(CROSSOVERS)}, got {crossover!r}")
    cross = CROSSOVERS[crossover]
    rng = np.random.default_rng(seed)
    limit = capacity_limit(capacity)

    pop = init_population(k, n, p_init, rng)
    best_x, best_value, found_at = np.zeros(n, bool), -np.inf, -1
    hist = {"best": [], "mean": [], "feasible": []}
    for g in range(generations):
        as_float = pop.astype(np.float64)
        obj, ok = as_float @ values, as_float @ weights <= limit
        if ok.any():
            i = int(np.argmax(np.where(ok, obj, -np.inf)))
            if obj[i] > best_value:
                best_x, best_value, found_at = pop[i].copy(), float(obj[i]), g
        hist["best"].append(best_value if found_at >= 0 else np.nan)
        hist["mean"].append(obj[ok].mean() if ok.any() else np.nan)
        hist["feasible"].append(ok.mean())
        if target is not None and best_value >= target:
            break
        w = selection_weights(obj, ok, pressure)
        if ok.sum() >= 2 and w.sum() > 0:
            pop = _breed(pop, w, k, rng, cross)          # everyone is replaced by offspring
        else:
            pop = replace_infeasible(pop, ok, w, rng, p_init, crossover=cross)
        pop = _flip(pop, mutation, rng)
        if found_at >= 0:
            pop[0] = best_x                              # elitism
    history = {key: np.asarray(v, dtype=np.float64) for key, v in hist.items()}
    if found_at < 0:  # nothing feasible was met: the empty selection always is
        best_value = 0.0
    return GAResult(best_x, best_value, found_at, history)
