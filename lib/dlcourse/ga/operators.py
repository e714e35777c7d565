"""A genetic algorithm for 0/1 problems ``max o·x subject to c·x <= b`` (the knapsack).

Layout: a *population* is a ``(k, n)`` boolean array, one candidate solution per
row, one gene (item taken or not) per column. Every operator below works on the
whole population at once, with NumPy array operations instead of Python loops;
randomness comes from a ``numpy.random.Generator`` passed in, so a seed fixes
the result.

One generation of :func:`solve_knapsack` calls the operators below (the checked
public ones validate their input; the solver validates once and calls the same
code through their unchecked cores, ``_spin``, ``_flip``...):

1. evaluate the objective ``pop @ values`` and feasibility ``pop @ weights <= capacity``;
2. remember the best feasible row seen so far (elitism);
3. breed a new population: parents are drawn among the feasible rows by roulette
   selection (:func:`roulette_select`, probabilities from :func:`selection_weights`),
   each child is a crossover of two parents followed by bit-flip mutation
   (:func:`mutate`); infeasible rows therefore never reproduce. When fewer than
   two rows are feasible the infeasible ones are re-drawn at random instead
   (:func:`replace_infeasible`);
4. with ``repair=True`` (the default) :func:`greedy_repair` makes every child
   feasible and fills its unused capacity;
5. put the elite back into row 0 so the best solution is never lost.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..core import validate

Crossover = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


# ----------------------------------------------------------------------------- validation
def check_problem(values, weights, capacity) -> tuple[np.ndarray, np.ndarray, float]:
    """Validated ``(values (n,), weights (n,), capacity)`` as float64 arrays and a float.

    Zero items are allowed (the only selection is the empty one). Raises ValueError
    for mismatched lengths, non-finite numbers, negative weights or a negative
    capacity, TypeError for values that are not real numbers.
    """
    values = validate.vector("values", values, allow_empty=True)
    weights = validate.vector("weights", weights, allow_empty=True)
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
    a, b = _check_parents(parent_a, parent_b)
    return _uniform(a, b, rng.random(a.shape))


def _uniform(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Uniform crossover given ``u``, uniform numbers of the parents' shape (the mask is u < ½)."""
    return np.where(u < 0.5, a, b)


def one_point_crossover(parent_a: np.ndarray, parent_b: np.ndarray,
                        rng: np.random.Generator) -> np.ndarray:
    """Children ``(k, n)``: genes before a random cut (1..n-1) from A, the rest from B."""
    a, b = _check_parents(parent_a, parent_b)
    return _one_point(a, b, rng.random(a.shape))


def _one_point(a: np.ndarray, b: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One-point crossover given uniform numbers ``u`` (k, n): row i cuts at 1 + ⌊u[i, 0]·(n-1)⌋."""
    k, n = a.shape
    if n < 2:
        return a.copy()
    cut = 1 + (u[:, 0] * (n - 1)).astype(np.int64)
    return np.where(np.arange(n)[None, :] < cut[:, None], a, b)


# The crossovers by name, as kernels ``(parents_a, parents_b, uniforms) -> children`` that
# take their random numbers pre-drawn (the solver draws a whole generation's at once).
CROSSOVER_KERNELS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "uniform": _uniform, "one-point": _one_point}
CROSSOVERS: dict[str, Crossover] = {"uniform": uniform_crossover,
                                    "one-point": one_point_crossover}


def _check_parents(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = as_population(a), as_population(b)
    if a.shape != b.shape:
        raise ValueError(f"parents must have the same shape, got {a.shape} and {b.shape}")
    return a, b


def mutate(pop: np.ndarray, rate: float, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``pop`` ``(k, n)`` with each gene flipped independently with probability ``rate``."""
    pop = as_population(pop)
    return _flip(pop, validate.rate("mutation rate", rate), rng.random(pop.shape))


def _flip(pop: np.ndarray, rate: float, u: np.ndarray) -> np.ndarray:
    """Bit-flip mutation given ``u``, uniform numbers of ``pop``'s shape: flip where u < rate."""
    return pop ^ (u < rate)


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
    selection, as in the original post; objectives must be non-negative).
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
    if pressure is not None:
        pressure = validate.finite_number("pressure", pressure, strictly_above=0)
    good = obj[ok]
    if pressure is None and (good < 0).any():
        raise ValueError("plain fitness-proportional selection needs non-negative objectives")
    return _selection_weights(obj, ok, good, pressure)


def _selection_weights(obj: np.ndarray, ok: np.ndarray, good: np.ndarray,
                       pressure: float | None) -> np.ndarray:
    """:func:`selection_weights` on checked arrays, ``good = obj[ok]`` (the solver has it)."""
    if not good.size:
        return np.zeros_like(obj)
    if pressure is None:
        return np.where(ok, obj, 0.0)
    lo, hi = good.min(), good.max()
    eps = (hi - lo) / ok.size if hi > lo else 1.0  # the worst feasible row keeps a small chance
    return np.where(ok, ((obj - lo + eps) / (hi - lo + eps)) ** pressure, 0.0)


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
    return _spin(np.cumsum(w), rng.random(size))


def _spin(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Roulette given the cumulative weights ``cdf`` (k,) and uniform numbers ``u``: indices."""
    pick = cdf.searchsorted(u * cdf[-1], "right")
    return np.minimum(pick, cdf.size - 1, out=pick)  # u * total may round up to the total


def breed(pop: np.ndarray, weights: np.ndarray, size: int, rng: np.random.Generator,
          crossover: Crossover = uniform_crossover) -> np.ndarray:
    """``size`` children ``(size, n)``: two roulette draws per child, then ``crossover``."""
    a = roulette_select(weights, size, rng)
    b = roulette_select(weights, size, rng)
    return crossover(pop[a], pop[b], rng)


def replace_infeasible(pop: np.ndarray, is_feasible: np.ndarray, weights: np.ndarray,
                       rng: np.random.Generator, p_init: float = 0.5, min_parents: int = 2,
                       crossover: Crossover = uniform_crossover) -> np.ndarray:
    """Copy of ``pop`` whose infeasible rows are replaced.

    With at least ``min_parents`` feasible rows, each infeasible row becomes a child
    of two feasible parents chosen by roulette on ``weights``; otherwise the
    infeasible rows are re-drawn at random (each gene 1 with probability ``p_init``).
    (The original post's loop had this test backwards: it bred when at most two
    members were feasible, one or none included, and re-drew when more were.)
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


def repair(pop: np.ndarray, weights: np.ndarray, capacity: float,
           rng: np.random.Generator) -> np.ndarray:
    """Copy of ``pop`` ``(k, n)`` in which every overweight row drops items until it fits.

    Each overweight row keeps its items in a random order while their running
    weight stays within ``capacity`` and drops the rest from the first item that
    does not fit; feasible rows are untouched. The empty selection always fits, so
    the result is all feasible (for ``weights >= 0``, ``capacity >= 0``).
    """
    pop = as_population(pop)
    weights = _check_weights(pop, weights)
    capacity = validate.finite_number("capacity", capacity, minimum=0)
    return _repair(pop.copy(), weights, capacity_limit(capacity), rng)


def _check_weights(pop: np.ndarray, weights) -> np.ndarray:
    """``weights`` as a float vector, one per gene of ``pop``; ValueError otherwise."""
    weights = validate.vector("weights", weights, allow_empty=True)
    if pop.shape[1] != weights.size:
        raise ValueError(f"a population of {pop.shape[1]} genes needs {pop.shape[1]} weights, "
                         f"got {weights.size}")
    return weights


def _repair(pop: np.ndarray, weights: np.ndarray, limit: float,
            rng: np.random.Generator) -> np.ndarray:
    """:func:`repair` in place on checked input (``limit`` from :func:`capacity_limit`)."""
    bad = pop @ weights > limit
    if not bad.any():
        return pop
    rows = pop[bad]
    keys = rng.random(rows.shape)                       # a random order of the items...
    order = np.argsort(np.where(rows, keys, 2.0), axis=1, kind="stable")  # ...taken ones first
    taken = np.take_along_axis(rows, order, axis=1)
    running = np.cumsum(np.where(taken, weights[order], 0.0), axis=1)
    kept = np.zeros_like(rows)
    np.put_along_axis(kept, order, taken & (running <= limit), axis=1)
    pop[bad] = kept
    return pop


def greedy_repair(pop: np.ndarray, values: np.ndarray, weights: np.ndarray,
                  capacity: float) -> np.ndarray:
    """Copy of ``pop`` ``(k, n)`` with every row made feasible, then filled up greedily.

    Items are ranked by value per unit of weight. An overweight row keeps its best
    ranked items while they fit and drops the rest; then every row adds the items
    it lacks, best ranked first, up to the first one that would overflow the
    capacity (items of value <= 0 are never added). This is the repair of Chu and
    Beasley's knapsack GA (J. Heuristics 4, 1998), except that their add phase goes
    on past an item that does not fit. Deterministic: it draws no random numbers.
    """
    pop = as_population(pop)
    values, weights, capacity = check_problem(values, weights, capacity)
    weights = _check_weights(pop, weights)
    return _greedy_repair(pop, GreedyPlan.of(values, weights), capacity_limit(capacity))


@dataclass(frozen=True)
class GreedyPlan:
    """The item ranking of :func:`greedy_repair`, computed once per problem.

    order (n,): items by decreasing value per weight (weightless items of positive
    value first); weights (n,) and addable (n,) (value > 0) in that order.
    """

    order: np.ndarray
    weights: np.ndarray
    addable: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray) -> "GreedyPlan":
        density = np.divide(values, weights, out=np.where(values > 0, np.inf, -np.inf),
                            where=weights > 0)
        order = np.argsort(-density, kind="stable")
        return cls(order, weights[order], values[order] > 0)


def _greedy_repair(pop: np.ndarray, plan: GreedyPlan, limit: float) -> np.ndarray:
    """:func:`greedy_repair` on checked input: a new ``(k, n)`` array."""
    rows = pop[:, plan.order]                                   # columns best ranked first
    held = rows * plan.weights
    keep = rows & (held.cumsum(axis=1) <= limit)                # the best ranked items that fit
    room = limit - (held * keep).sum(axis=1, keepdims=True)     # (k, 1) capacity left
    lacking = ~keep & plan.addable
    keep |= lacking & ((lacking * plan.weights).cumsum(axis=1) <= room)  # up to the first misfit
    out = np.empty_like(keep)
    out[:, plan.order] = keep
    return out


# ----------------------------------------------------------------------------- the solver
@dataclass
class GAResult:
    """What :func:`solve_knapsack` returns.

    x: (n,) bool, the best feasible solution seen (all False, the empty selection,
    if no row was ever feasible). value: its objective. found_at: the generation
    where it was first found (-1 if never). stopped: why the run ended, "budget"
    (all generations ran), "target" or "stagnation" (no better solution for
    ``patience`` generations). history: per generation, arrays of shape
    (generations run,): "best" (best feasible objective seen so far, NaN before the
    first feasible row), "mean" (mean objective of the feasible rows, NaN when
    none) and "feasible" (fraction of feasible rows).
    """

    x: np.ndarray
    value: float
    found_at: int
    history: dict[str, np.ndarray] = field(repr=False)
    stopped: str = "budget"


@dataclass(frozen=True)
class Settings:
    """Checked arguments of one GA run (shared by the vectorised and the loop solver)."""

    values: np.ndarray
    weights: np.ndarray
    capacity: float
    population: int
    generations: int
    mutation: float
    p_init: float
    crossover: str
    pressure: float | None
    target: float | None
    patience: int | None
    repair: bool
    seed: int | None

    @property
    def limit(self) -> float:
        return capacity_limit(self.capacity)

    def stop_reason(self, best_value: float, found_at: int, generation: int) -> str | None:
        """"target" or "stagnation" when a run should stop after ``generation``, else None."""
        if self.target is not None and best_value >= self.target:
            return "target"
        if (self.patience is not None and found_at >= 0
                and generation - found_at >= self.patience):
            return "stagnation"
        return None


def default_mutation(n: int) -> float:
    """The solver's default flip probability per gene for ``n`` genes: 3/n, at most ½.

    Three flips per child: with greedy repair cleaning up after them, bolder moves
    find P08's optimum sooner than one flip does (``benchmarks/ga.py``); above ½ a
    child would resemble its parents' complement more than its parents.
    """
    return min(0.5, 3.0 / max(n, 1))


def check_settings(values, weights, capacity, population=100, generations=3000, mutation=None,
                   p_init=0.5, crossover="uniform", pressure=2.0, target=None, patience=None,
                   repair=True, seed=0) -> Settings:
    """Validate every argument of :func:`solve_knapsack`; return them as :class:`Settings`."""
    values, weights, capacity = check_problem(values, weights, capacity)
    if crossover not in CROSSOVER_KERNELS:
        raise ValueError(f"crossover must be one of {sorted(CROSSOVER_KERNELS)}, "
                         f"got {crossover!r}")
    if not isinstance(repair, bool | np.bool_):
        raise TypeError(f"repair must be True or False, got {repair!r}")
    n = values.size
    return Settings(
        values, weights, capacity,
        population=validate.count("population", population),
        generations=validate.count("generations", generations),
        mutation=(default_mutation(n) if mutation is None else validate.rate("mutation", mutation)),
        p_init=validate.rate("p_init", p_init),
        crossover=crossover,
        pressure=(None if pressure is None
                  else validate.finite_number("pressure", pressure, strictly_above=0)),
        target=None if target is None else validate.finite_number("target", target),
        patience=None if patience is None else validate.count("patience", patience),
        repair=bool(repair),
        seed=validate.seed("seed", seed, allow_none=True))


def trivial_result(settings: Settings) -> GAResult | None:
    """The answer without a search when there are no items (the empty selection), else None."""
    if settings.values.size:
        return None
    one = np.ones(1)
    return GAResult(np.zeros(0, dtype=bool), 0.0, 0,
                    {"best": 0 * one, "mean": 0 * one, "feasible": one}, "budget")


def finish(best_x, best_value: float, found_at: int, history: dict, stopped: str) -> GAResult:
    """The :class:`GAResult`; warns when no feasible row was ever met (then value 0, x empty)."""
    if found_at < 0:
        import warnings

        warnings.warn("the GA met no feasible solution: returning the empty selection "
                      "(value 0); use repair=True, or a lower p_init", RuntimeWarning,
                      stacklevel=3)
        best_value = 0.0
    history = {key: np.asarray(v, dtype=np.float64) for key, v in history.items()}
    return GAResult(np.asarray(best_x, dtype=bool), float(best_value), found_at, history, stopped)


def solve_knapsack(values, weights, capacity, population: int = 100, generations: int = 3000,
                   mutation: float | None = None, seed: int | None = 0, p_init: float = 0.5,
                   crossover: str = "uniform", pressure: float | None = 2.0,
                   target: float | None = None, patience: int | None = None,
                   repair: bool = True) -> GAResult:
    """Maximise ``values·x`` subject to ``weights·x <= capacity`` over x in {0, 1}^n.

    population: rows k; generations: the most generations to run; mutation: flip
    probability per gene (default :func:`default_mutation`, 3/n); crossover:
    "uniform" or "one-point"; pressure: see :func:`selection_weights`; target: stop
    once a feasible solution reaches this value; patience: stop when the best has
    not improved for this many generations (None: never); repair: pass the initial
    population and every generation's children through :func:`greedy_repair`, so
    every row is feasible and nearly full (False: infeasible rows simply never
    breed). With n = 0 items the answer is the empty selection.
    Warns (RuntimeWarning) when no feasible row was ever met. Deterministic for a
    given ``seed``.

    Each generation draws all its random numbers in one call: 2k roulette draws,
    then k·n crossover numbers, then k·n mutation numbers.
    """
    cfg = check_settings(values, weights, capacity, population, generations, mutation, p_init,
                         crossover, pressure, target, patience, repair, seed)
    if (trivial := trivial_result(cfg)) is not None:
        return trivial
    k, n, limit = cfg.population, cfg.values.size, cfg.limit
    cross = CROSSOVER_KERNELS[cfg.crossover]
    value_weight = np.stack([cfg.values, cfg.weights], axis=1)          # (n, 2)
    rng = np.random.default_rng(cfg.seed)
    pressure, rate, patience, target = cfg.pressure, cfg.mutation, cfg.patience, cfg.target

    pop = init_population(k, n, cfg.p_init, rng)
    plan = GreedyPlan.of(cfg.values, cfg.weights)
    if cfg.repair:
        pop = _greedy_repair(pop, plan, limit)
    best_x, best_value, found_at = np.zeros(n, bool), -np.inf, -1
    hist_best, hist_mean, hist_feasible = (np.full(cfg.generations, np.nan) for _ in range(3))
    stopped, g = "budget", 0
    for g in range(cfg.generations):
        totals = pop.astype(np.float64) @ value_weight                  # (k, 2)
        obj, ok = totals[:, 0], totals[:, 1] <= limit
        good = obj[ok]                                                  # feasible objectives
        n_ok = good.size
        if n_ok:
            i = good.argmax()
            if good[i] > best_value:
                best_x, best_value, found_at = pop[ok][i], float(good[i]), g
            hist_mean[g] = good.sum() / n_ok
        hist_best[g] = best_value if found_at >= 0 else np.nan
        hist_feasible[g] = n_ok / k
        if target is not None and best_value >= target:
            stopped = "target"
            break
        if patience is not None and found_at >= 0 and g - found_at >= patience:
            stopped = "stagnation"
            break
        w = _selection_weights(obj, ok, good, pressure)
        cdf = np.cumsum(w)
        if n_ok >= 2 and cdf[-1] > 0:                   # everyone is replaced by offspring
            # one draw per generation: 2k roulette spins, k·n crossover, k·n mutation numbers
            u = rng.random(2 * k + 2 * k * n)
            parents = pop.take(_spin(cdf, u[:2 * k]), axis=0)
            pop = cross(parents[:k], parents[k:], u[2 * k:2 * k + k * n].reshape(k, n))
            pop = _flip(pop, rate, u[2 * k + k * n:].reshape(k, n))
        else:                                           # too few parents: re-draw the infeasible
            pop = replace_infeasible(pop, ok, w, rng, cfg.p_init)
            pop = _flip(pop, rate, rng.random(pop.shape))
        if cfg.repair:
            pop = _greedy_repair(pop, plan, limit)
        if found_at >= 0:
            pop[0] = best_x                             # elitism
    hist = {"best": hist_best, "mean": hist_mean, "feasible": hist_feasible}
    history = {key: v[:g + 1] for key, v in hist.items()}
    return finish(best_x, best_value, found_at, history, stopped)
