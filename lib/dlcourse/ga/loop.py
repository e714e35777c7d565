"""The genetic algorithm written one gene at a time, as the original post wrote its
initialisation, mating and mutation.

Kept only as the baseline for ``benchmarks/ga.py``: it runs exactly the
generation of :func:`dlcourse.ga.solve_knapsack` (uniform crossover) with Python
loops over rows and genes, drawing its random numbers one by one in the same
order, so for the same seed it returns the *same* solution and history. What the
vectorised version gains is therefore speed alone.

The original post's faults (lesson 07, section 6, lists them with the evidence)
are not repeated here: it bred an infeasible member's replacement when at most
two members were feasible and re-drew it at random when more were; it replaced
feasible members too and kept no best solution; its constraint test used a strict
``<`` and was called with one argument where it takes three; its mutation gave a
gene a fresh random bit (a flip with probability p/2, not p) and was called as
``mutate``, a name never defined; its pmf divided 0 by 0 when every feasible member
scored 0, and its sampler then (or with no feasible member) silently returned
index 0; and it seeded neither of the global generators it drew from.
"""

import numpy as np

from .operators import GAResult, check_settings, finish, trivial_result


def solve_knapsack_loop(values, weights, capacity, population: int = 100,
                        generations: int = 3000, mutation: float | None = None,
                        seed: int | None = 0, p_init: float = 0.5,
                        pressure: float | None = 2.0, target: float | None = None,
                        patience: int | None = None, repair: bool = True) -> GAResult:
    """Per-element loop version of ``dlcourse.ga.solve_knapsack`` (same arguments, same result).

    Uniform crossover only. Sums run in item order, so with integer values and
    weights (exact in float64) every history entry equals the vectorised one.
    """
    cfg = check_settings(values, weights, capacity, population, generations, mutation, p_init,
                         "uniform", pressure, target, patience, repair, seed)
    if (trivial := trivial_result(cfg)) is not None:
        return trivial
    values, weights = cfg.values.tolist(), cfg.weights.tolist()
    n, k, limit = len(values), cfg.population, cfg.limit
    rng = np.random.default_rng(cfg.seed)

    pop = [[rng.random() < cfg.p_init for _ in range(n)] for _ in range(k)]
    ranked = _ranking(values, weights)
    if cfg.repair:
        _greedy_repair_loop(pop, values, weights, limit, ranked)
    best_x, best_value, found_at = [False] * n, -np.inf, -1
    hist = {"best": [], "mean": [], "feasible": []}
    stopped = "budget"
    for g in range(cfg.generations):
        obj, ok = [], []
        for i in range(k):
            total, load = 0.0, 0.0
            for j in range(n):
                if pop[i][j]:
                    total += values[j]
                    load += weights[j]
            obj.append(total)
            ok.append(load <= limit)
        for i in range(k):
            if ok[i] and obj[i] > best_value:
                best_x, best_value, found_at = list(pop[i]), obj[i], g
        n_ok = sum(ok)
        hist["best"].append(best_value if found_at >= 0 else np.nan)
        hist["mean"].append(sum(o for o, f in zip(obj, ok, strict=True) if f) / n_ok
                            if n_ok else np.nan)
        hist["feasible"].append(n_ok / k)
        if (reason := cfg.stop_reason(best_value, found_at, g)) is not None:
            stopped = reason
            break

        weights_sel = _selection_weights_loop(obj, ok, cfg.pressure)
        total_w = 0.0
        cdf = []
        for wgt in weights_sel:
            total_w += wgt
            cdf.append(total_w)
        if n_ok >= 2 and total_w > 0:      # fixed: breed when there are ENOUGH parents
            draws = iter(rng.random(2 * k + 2 * k * n).tolist())   # this generation's numbers
            first = [_spin(cdf, next(draws) * total_w) for _ in range(k)]
            second = [_spin(cdf, next(draws) * total_w) for _ in range(k)]
            children = []
            for i in range(k):
                mum, dad = pop[first[i]], pop[second[i]]
                # gene j from mum where the mask says so, else from dad
                children.append([mum[j] if next(draws) < 0.5 else dad[j] for j in range(n)])
            for child in children:
                for j in range(n):
                    if next(draws) < cfg.mutation:
                        child[j] = not child[j]
            pop = children
        else:                               # too few feasible parents: re-draw the infeasible
            for i in range(k):
                if not ok[i]:
                    pop[i] = [rng.random() < cfg.p_init for _ in range(n)]
            for i in range(k):
                for j in range(n):
                    if rng.random() < cfg.mutation:
                        pop[i][j] = not pop[i][j]
        if cfg.repair:
            _greedy_repair_loop(pop, values, weights, limit, ranked)
        if found_at >= 0:
            pop[0] = list(best_x)
    return finish(best_x, best_value, found_at, hist, stopped)


def _ranking(values: list[float], weights: list[float]) -> list[int]:
    """Items by decreasing value per weight; weightless items of positive value first."""
    def density(j):
        if weights[j] > 0:
            return values[j] / weights[j]
        return np.inf if values[j] > 0 else -np.inf
    return sorted(range(len(values)), key=lambda j: -density(j))


def _greedy_repair_loop(pop: list[list[bool]], values: list[float], weights: list[float],
                        limit: float, ranked: list[int]) -> None:
    """``dlcourse.ga.greedy_repair`` one row and one item at a time, in place."""
    for row in pop:
        held, kept = 0.0, [False] * len(row)
        for j in ranked:                    # keep the best ranked items while they fit
            if row[j]:
                held += weights[j]
                kept[j] = held <= limit
        room = limit - sum(w for w, keep in zip(weights, kept, strict=True) if keep)
        added = 0.0
        for j in ranked:                    # then add the best ranked missing ones
            if not kept[j] and values[j] > 0:
                added += weights[j]
                kept[j] = added <= room
        row[:] = kept


def _selection_weights_loop(obj: list[float], ok: list[bool], pressure: float | None):
    """The weights of ``dlcourse.ga.selection_weights``, one row at a time."""
    feasible_obj = [o for o, f in zip(obj, ok, strict=True) if f]
    if not feasible_obj:
        return [0.0] * len(obj)
    if pressure is None:
        return [o if f else 0.0 for o, f in zip(obj, ok, strict=True)]
    lo, hi = min(feasible_obj), max(feasible_obj)
    eps = (hi - lo) / len(obj) if hi > lo else 1.0
    return [((o - lo + eps) / (hi - lo + eps)) ** pressure if f else 0.0
            for o, f in zip(obj, ok, strict=True)]


def _spin(cdf: list[float], u: float) -> int:
    """Walk the cumulative weights to the slice the ball ``u`` landed in."""
    for i, edge in enumerate(cdf):
        if u < edge:
            return i
    return len(cdf) - 1


def compare_speed(values, weights, capacity, population: int, generations: int,
                  seed: int = 0, repeat: int = 3) -> dict:
    """Time ``solve_knapsack`` against the loop version with the same seed and budget.

    Returns seconds per run of each (best of ``repeat``), their ratio, and whether
    both returned the same history (they must: same algorithm, same random numbers).
    """
    from ..timing import best_time
    from .operators import solve_knapsack

    kwargs = dict(population=population, generations=generations, seed=seed)
    fast = solve_knapsack(values, weights, capacity, **kwargs)
    slow = solve_knapsack_loop(values, weights, capacity, **kwargs)
    same = all(np.array_equal(fast.history[key], slow.history[key], equal_nan=True)
               for key in fast.history) and bool((fast.x == slow.x).all())
    t_fast = best_time(lambda: solve_knapsack(values, weights, capacity, **kwargs),
                       repeat=repeat)
    t_slow = best_time(lambda: solve_knapsack_loop(values, weights, capacity, **kwargs),
                       repeat=repeat, min_seconds=0.0, warmup=0)
    return {"items": len(values), "population": population, "generations": generations,
            "vectorised_s": t_fast, "loop_s": t_slow, "speedup": t_slow / t_fast,
            "identical": same}
