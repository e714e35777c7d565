"""A genetic algorithm for the 0/1 knapsack (lesson 07), its exact reference and its figures.

- ``operators``: the vectorised GA: population operators (selection, crossover,
  mutation, repair, greedy repair) and :func:`solve_knapsack`, which calls them.
- ``loop``: the same algorithm one gene at a time (the speed baseline).
- ``knapsack``: exact solvers (dynamic programming, integer programming) and
  published instances with known optima.
- ``plots``: the lesson's figures and widget callback.
"""

from .knapsack import DP_MAX_CELLS, INSTANCES, Instance, exact_knapsack, random_instance
from .loop import compare_speed, solve_knapsack_loop
from .operators import (
    CROSSOVER_KERNELS,
    CROSSOVERS,
    GAResult,
    as_population,
    breed,
    capacity_limit,
    check_problem,
    crossover_mask,
    default_mutation,
    feasible,
    greedy_repair,
    init_population,
    mutate,
    objective,
    one_point_crossover,
    repair,
    replace_infeasible,
    roulette_select,
    selection_weights,
    solve_knapsack,
    uniform_crossover,
)
from .plots import explore, plot_crossover, plot_history, plot_roulette, show_bits

__all__ = [
    "CROSSOVERS", "CROSSOVER_KERNELS", "DP_MAX_CELLS", "GAResult", "INSTANCES", "Instance",
    "as_population", "breed", "capacity_limit", "check_problem", "compare_speed",
    "crossover_mask", "default_mutation", "exact_knapsack", "explore", "feasible",
    "greedy_repair", "init_population", "mutate",
    "objective", "one_point_crossover", "plot_crossover", "plot_history", "plot_roulette",
    "random_instance", "repair", "replace_infeasible", "roulette_select", "selection_weights",
    "show_bits", "solve_knapsack", "solve_knapsack_loop", "uniform_crossover",
]
