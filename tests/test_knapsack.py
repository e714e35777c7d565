"""The exact knapsack solvers against brute force, and the published optima against both."""

import itertools

import numpy as np
import pytest

from dlcourse.ga import INSTANCES, exact_knapsack, random_instance


def brute_force(values, weights, capacity):
    """Best value over all 2^n selections (n <= 16)."""
    n = len(values)
    xs = np.array(list(itertools.product([0, 1], repeat=n)), dtype=float)
    ok = xs @ np.asarray(weights, float) <= capacity
    return float((xs @ np.asarray(values, float))[ok].max())


@pytest.mark.parametrize("name", sorted(INSTANCES))
def test_published_optimum_matches_exact_solvers(name):
    inst = INSTANCES[name]
    values, weights, capacity = inst.arrays()
    selection = np.array(inst.selection, dtype=bool)
    assert len(inst.weights) == inst.n == len(inst.selection)
    assert weights @ selection <= capacity, "the published selection must be feasible"
    assert values @ selection == inst.optimum, "the published selection must score the optimum"
    x, value = exact_knapsack(values, weights, capacity)
    assert value == inst.optimum
    assert weights @ x <= capacity and values @ x == value
    assert exact_knapsack(values, weights, capacity, method="milp")[1] == inst.optimum
    if inst.n * (capacity + 1) <= 2_000_000:
        assert exact_knapsack(values, weights, capacity, method="dp")[1] == inst.optimum
    if inst.n <= 16:
        assert brute_force(values, weights, capacity) == inst.optimum


def test_sizes_of_the_published_instances():
    sizes = {name: inst.n for name, inst in INSTANCES.items()}
    assert all(5 <= n <= 15 for name, n in sizes.items() if name != "P08")
    assert sizes["P08"] == 24


@pytest.mark.parametrize("seed", range(8))
def test_dp_and_milp_agree_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    values, weights, capacity = random_instance(int(rng.integers(1, 13)), rng)
    expected = brute_force(values, weights, capacity)
    for method in ("dp", "milp"):
        x, value = exact_knapsack(values, weights, capacity, method=method)
        assert value == expected, method
        assert weights @ x <= capacity


def test_milp_handles_non_integer_weights():
    rng = np.random.default_rng(42)
    values, weights = rng.uniform(1, 10, 10), rng.uniform(0.5, 5.0, 10)
    capacity = 0.4 * weights.sum()
    x, value = exact_knapsack(values, weights, capacity)  # auto -> milp
    assert value == pytest.approx(brute_force(values, weights, capacity), rel=1e-9)
    with pytest.raises(ValueError, match="integer weights"):
        exact_knapsack(values, weights, capacity, method="dp")


def test_edge_cases():
    assert exact_knapsack([5, 6], [3, 4], 0)[1] == 0          # nothing fits
    x, value = exact_knapsack([5, 6], [3, 4], 100)            # everything fits
    assert value == 11 and x.all()
    x, value = exact_knapsack([10, 1], [50, 1], 5)            # an item heavier than the sack
    assert value == 1 and x.tolist() == [False, True]


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="same length"):
        exact_knapsack([1, 2], [1], 3)
    with pytest.raises(ValueError, match="non-negative"):
        exact_knapsack([1, 2], [1, -1], 3)
    with pytest.raises(ValueError, match="method"):
        exact_knapsack([1, 2], [1, 1], 3, method="greedy")
    with pytest.raises(ValueError, match="capacity"):
        exact_knapsack([1, 2], [1, 1], -3)


def test_random_instance_is_well_formed():
    values, weights, capacity = random_instance(30, np.random.default_rng(0))
    assert values.shape == weights.shape == (30,)
    assert (weights >= 1).all() and (values > weights).all()
    assert 0 < capacity < weights.sum()
