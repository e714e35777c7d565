"""dlcourse.inception: module shapes, hand formulas vs the counter vs TensorFlow, GoogLeNet."""

import numpy as np
import pytest

from dlcourse import inception, opcount
from dlcourse.inception import INCEPTION_3A, InceptionSpec


def test_table1_modules_chain_their_depths():
    # each module's input depth is the previous row's output depth, as printed in the paper
    rows = inception.GOOGLENET_TABLE1
    for before, row in zip(rows, rows[1:], strict=False):
        if row.kind in ("maxpool", "avgpool", "dropout"):
            assert row.output[2] == before.output[2]
    assert [r.output[2] for r in rows if r.spec] == [256, 480, 512, 512, 512, 528, 832,
                                                       832, 1024]


def test_module_3a_by_hand_counter_and_tensorflow():
    model = inception.inception_module_model((28, 28, 192), INCEPTION_3A)
    assert tuple(model.output.shape[1:]) == (28, 28, 256)
    result = opcount.count_ops(model)
    costs = inception.module_costs(28, 28, 192, INCEPTION_3A)
    assert costs["5x5"][1] == 12_443_648
    assert costs["3x3"][1] == 28 * 28 * (192 * 96 + 9 * 96 * 128)
    assert sum(m for _, m in costs.values()) == result.macs == 128_049_152
    assert sum(p for p, _ in costs.values()) == result.params == model.count_params()
    assert opcount.profiler_flops(model)["Conv2D"] == 2 * result.macs


def test_naive_module_has_no_reductions():
    naive = INCEPTION_3A.naive()
    model = inception.inception_module_model((28, 28, 192), naive)
    names = [r.name for r in opcount.count_ops(model).rows]
    assert not any("reduce" in n for n in names)
    costs = inception.module_costs(28, 28, 192, naive)
    assert costs["5x5"][1] == 120_422_400
    assert sum(m for _, m in costs.values()) == opcount.count_ops(model).macs


def test_module_without_pool_projection_passes_pool_through():
    spec = InceptionSpec("p", 4, None, 4, None, 4, None)
    model = inception.inception_module_model((5, 5, 3), spec)
    assert model.output.shape[-1] == 4 + 4 + 4 + 3
    assert inception.module_costs(5, 5, 3, spec)["pool"] == (0, 0)


def test_block_output_concatenates_towers_in_order():
    spec = InceptionSpec("t", 2, 1, 3, 1, 1, 2)
    model = inception.inception_module_model((6, 6, 2), spec)
    x = np.random.default_rng(0).random((1, 6, 6, 2), dtype=np.float32)
    out = model(x).numpy()
    first = model.get_layer("t_1x1")(x).numpy()
    np.testing.assert_allclose(out[..., :2], first, rtol=1e-6)


@pytest.mark.slow  # about a second or more: builds GoogLeNet in Keras
def test_googlenet_total_and_modules_match_table1_ops():
    model = inception.googlenet()
    result = opcount.count_ops(model)
    assert tuple(model.output.shape[1:]) == (1000,)
    assert result.params == model.count_params()
    assert not result.not_counted
    # about the paper's "1.5 billion multiply-adds": within 6 %
    assert abs(result.macs / inception.PAPER_TOTAL_MULTIPLY_ADDS - 1) < 0.06
    for row in inception.GOOGLENET_TABLE1:
        if row.spec is None or row.name == "inception_5a":
            continue  # 5a's printed ops (54M) do not follow from its printed widths (51.1M)
        macs = sum(r.macs for r in result.rows if r.name.startswith(row.spec.name + "_"))
        assert round(macs / 1e6) == pytest.approx(row.paper_ops_m, abs=1), row.name


@pytest.mark.slow
def test_mnist_reference_network_shape_and_size():
    model = inception.mnist_inception_net()
    assert tuple(model.output.shape[1:]) == (10,)
    result = opcount.count_ops(model)
    flat = 28 * 28 * 4 * 64
    dense = next(r for r in result.rows if r.name == "dense")
    assert dense.params == flat * 700 + 700 and dense.macs == flat * 700
    with pytest.raises(ValueError, match=r"maps\[0\] must be at least 1, got 0"):
        inception.mnist_inception_net(maps=(0, 4))


@pytest.mark.parametrize("call, error, match", [
    (lambda: inception.module_costs(28, 0, 192, INCEPTION_3A), ValueError, "w must be at least 1"),
    (lambda: inception.module_costs(28.0, 28, 192, INCEPTION_3A), TypeError, "h must be an"),
    (lambda: inception.mnist_inception_net(dropout=1.0), ValueError, "dropout must be less than 1"),
    (lambda: inception.mnist_inception_net(maps=()), ValueError, "maps must hold at least one"),
    (lambda: inception.mnist_inception_net(reduce=0), ValueError, "reduce must be at least 1"),
])
def test_bad_sizes_are_named_before_anything_is_built(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.slow  # half a second or more
def test_naive_vs_reduced_rows():
    rows = inception.naive_vs_reduced([8], hw=6, batch=2, repeat=1)
    naive, reduced = rows
    assert (naive["variant"], reduced["variant"]) == ("naive", "reduced")
    assert naive["macs"] == sum(m for _, m in inception.module_costs(
        6, 6, 8, INCEPTION_3A.naive()).values())
    for row in rows:   # the rate is 2 FLOPs per MAC, per example, over the measured time
        assert row["gflops"] == pytest.approx(2 * row["macs"] * 2 / row["seconds"] / 1e9)


@pytest.mark.parametrize("bad, error", [("abc", TypeError), (True, TypeError), (2.0, TypeError),
                                        (-1, ValueError)])
def test_forward_seconds_checks_its_seed(bad, error):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(error, match="seed"):
        inception.forward_seconds(model, batch=2, repeat=1, seed=bad)
