"""dlcourse.opcount: checked against hand formulas and against TensorFlow's own graph.

Two independent references: the closed-form MAC count of each layer written out
here, and the traced TensorFlow graph, measured by TensorFlow's profiler (FLOPs,
2 per MAC) and by reading the shapes of the graph's Conv2D/MatMul ops.
"""

import itertools
import math

import keras
import pytest

from dlcourse import core, opcount

L = keras.layers


def _model(input_shape, *layers):
    return keras.Sequential([keras.Input(input_shape), *layers])


# ---------------------------------------------------------------- hand formulas
def test_conv_macs_inception_3a_5x5_branch():
    # the syllabus' numbers: 5×5 conv with 32 filters on 28×28×192, with and without reduction
    assert opcount.conv_macs(28, 28, 192, 32, 5) == 5**2 * 28**2 * 192 * 32 == 120_422_400
    reduced = opcount.conv_macs(28, 28, 192, 16, 1) + opcount.conv_macs(28, 28, 16, 32, 5)
    assert reduced == 2_408_448 + 10_035_200 == 12_443_648


@pytest.mark.parametrize("n, k, stride, padding, expected", [
    (64, 4, 1, "SAME", 64), (64, 4, 1, "VALID", 61), (224, 7, 2, "SAME", 112),
    (7, 3, 2, "same", 4), (7, 3, 2, "valid", 3), (2, 3, 1, "VALID", 0),
    (10, 3, 1, (1, 2), 11),
    # a pair anywhere: two axes, per axis (issue #26 item 10: the stride pair was cut to 2)
    (10, 3, (2, 1), "VALID", (4, 8)), (10, 3, (2, 1), "SAME", (5, 10)),
    ((10, 12), (3, 1), 1, ((1, 2), (0, 1)), (11, 13)), ((10, 12), 3, 2, (1, 0), (5, 5)),
])
def test_conv_output_size(n, k, stride, padding, expected):
    assert opcount.conv_output_size(n, k, stride, padding) == expected


def test_conv_output_size_is_core_output_size_per_axis_with_the_same_default():
    # issue #26 item 10: the default was SAME here and VALID in core
    for n, k, stride in itertools.product((1, 7, 10), (1, 3, 8), (1, 2, 3)):
        assert opcount.conv_output_size(n, k, stride) == core.output_size(n, k, stride)
        assert opcount.conv_output_size(n, k, (stride, 1)) == (core.output_size(n, k, stride),
                                                               core.output_size(n, k, 1))
    assert opcount.conv_output_size(10, 3, 2) == 4  # VALID: floor(7 / 2) + 1


@pytest.mark.parametrize("args, error", [
    ((10, 3, (2, 1, 1)), TypeError), ((10.0, 3), TypeError), ((True, 3), TypeError),
    ((10, 3, (2, 0)), ValueError), ((10, 3, (2, 1), (1, 2, 3)), ValueError),
])
def test_conv_output_size_bad_input(args, error):
    with pytest.raises(error):
        opcount.conv_output_size(*args)


def test_conv_macs_stride_and_valid_padding_and_rectangular_kernel():
    # 224×224×3, 7×7/2 SAME → 112×112 positions, each 7·7·3 MACs per output map
    assert opcount.conv_macs(224, 224, 3, 64, 7, stride=2) == 112 * 112 * 7 * 7 * 3 * 64
    assert opcount.conv_macs(10, 12, 2, 5, (3, 1), padding="VALID") == 8 * 12 * 3 * 2 * 5


@pytest.mark.parametrize("kwargs, error", [
    ({"k": 0}, ValueError), ({"k": 2.5}, TypeError), ({"padding": "FULL"}, ValueError),
    ({"stride": (1, 2, 3)}, TypeError), ({"c_in": -3}, ValueError),
])
def test_conv_macs_bad_input(kwargs, error):
    args = {"h": 8, "w": 8, "c_in": 3, "c_out": 4, "k": 3} | kwargs
    with pytest.raises(error):
        opcount.conv_macs(**args)


def test_conv_macs_accepts_numpy_integers_and_explicit_padding():
    import numpy as np

    h, c = np.int64(28), np.int32(192)
    assert opcount.conv_macs(h, h, c, np.int64(32), np.int16(5)) == 120_422_400
    assert opcount.conv_macs(h, h, c, 32, (np.int64(5), 5), stride=np.array([1, 1])) == 120_422_400
    assert opcount.conv_params(np.int64(192), np.uint8(32), np.int64(5)) == 25 * 192 * 32 + 32
    # explicit padding: ((1, 2), (0, 1)) on 10×10 with a 3×3 kernel → 11 × 9 positions
    assert opcount.conv_macs(10, 10, 2, 4, 3, padding=((1, 2), (0, 1))) == 11 * 9 * 9 * 2 * 4
    assert opcount.conv_macs(10, 10, 2, 4, 3, padding=(2, 1)) == 12 * 10 * 9 * 2 * 4
    assert opcount.conv_output_size(np.int64(224), np.int64(7), np.int64(2), "SAME") == 112


def test_conv_params():
    assert opcount.conv_params(192, 32, 5) == 25 * 192 * 32 + 32
    assert opcount.conv_params(192, 32, 5, bias=False) == 25 * 192 * 32


# ---------------------------------------------------------------- the counter, per layer
@pytest.mark.parametrize("layer, input_shape, expected_macs", [
    (L.Conv2D(8, 3, padding="same"), (9, 9, 4), 9 * 9 * 9 * 4 * 8),
    (L.Conv2D(8, 3, padding="valid", use_bias=False), (9, 9, 4), 7 * 7 * 9 * 4 * 8),
    (L.Conv2D(6, (3, 5), strides=2, padding="same"), (9, 10, 4), 5 * 5 * 15 * 4 * 6),
    (L.Conv2D(6, 3, strides=(2, 3), padding="valid"), (11, 11, 2), 5 * 3 * 9 * 2 * 6),
    (L.Conv2D(8, 3, groups=2, padding="same"), (6, 6, 4), 6 * 6 * 9 * 2 * 8),
    (L.DepthwiseConv2D(3, padding="same", depth_multiplier=2), (6, 6, 4), 6 * 6 * 9 * 4 * 2),
    (L.Dense(7), (12,), 12 * 7),
    (L.Dense(7), (5, 12), 5 * 12 * 7),
    (L.BatchNormalization(), (4, 4, 3), 4 * 4 * 3),
    (L.MaxPooling2D(3, 2, padding="same"), (9, 9, 4), 0),
    (L.AveragePooling2D(2), (8, 8, 4), 0),
    (L.GlobalAveragePooling2D(), (8, 8, 4), 0),
    (L.UpSampling2D(2), (4, 4, 3), 0),
    (L.Flatten(), (4, 4, 3), 0),
    (L.Reshape((16, 3)), (4, 4, 3), 0),
    (L.Activation("relu"), (4, 4, 3), 0),
])
def test_single_layer_counts(layer, input_shape, expected_macs):
    model = _model(input_shape, layer)
    result = opcount.count_ops(model)
    (row,) = result.rows
    assert row.macs == expected_macs
    assert row.params == layer.count_params()
    assert row.output_shape == tuple(layer.output.shape[1:])


def test_functional_model_with_concat_and_add_matches_hand_count():
    x = keras.Input((16, 16, 8))
    a = L.Conv2D(4, 1, name="a")(x)
    b = L.Conv2D(4, 3, padding="same", name="b")(x)
    c = L.Concatenate(name="cat")([a, b])
    d = L.Add(name="add")([a, b])
    out = L.Dense(3, name="head")(L.Flatten()(L.Concatenate()([c, d])))
    result = opcount.count_ops(keras.Model(x, out))
    by_name = {r.name: r for r in result.rows}
    assert by_name["a"].macs == 16 * 16 * 8 * 4
    assert by_name["b"].macs == 16 * 16 * 9 * 8 * 4
    assert by_name["cat"].output_shape == (16, 16, 8) and by_name["cat"].macs == 0
    assert by_name["add"].output_shape == (16, 16, 4)
    assert by_name["head"].macs == 16 * 16 * 12 * 3
    assert result.macs == 16 * 16 * (8 * 4 + 9 * 8 * 4 + 12 * 3)


def test_nested_models_and_shared_layers():
    inner = _model((8, 8, 3), L.Conv2D(5, 3, padding="same", name="inner_conv"))
    inner.name = "block"
    shared = L.Conv2D(5, 1, name="shared")
    x = keras.Input((8, 8, 3))
    y = shared(shared(inner(x)))
    outer = keras.Model(x, y)
    result = opcount.count_ops(outer)
    names = [r.name for r in result.rows if r.kind == "Conv2D"]
    assert names == ["block/inner_conv", "shared", "shared"]
    shared_rows = [r for r in result.rows if r.name == "shared"]
    assert [r.params for r in shared_rows] == [30, 0]  # parameters once
    assert [r.macs for r in shared_rows] == [8 * 8 * 25] * 2  # MACs per call
    assert result.params == outer.count_params()


def test_unsupported_layer_is_listed_not_zero():
    model = _model((6,), L.Dense(4), L.Lambda(lambda t: t * 2.0, name="double"))
    result = opcount.count_ops(model)
    (missing,) = result.not_counted
    assert missing.name == "double" and missing.macs is None
    assert result.macs == 6 * 4
    text = opcount.table(model)
    assert "not counted" in text and "1 layer(s) not counted" in text


def test_unknown_spatial_size_is_not_counted():
    model = _model((None, None, 3), L.Conv2D(4, 3), L.GlobalMaxPooling2D(), L.Dense(2))
    result = opcount.count_ops(model)
    assert [r.macs for r in result.rows] == [None, 0, 4 * 2]
    assert "not fixed" in result.rows[0].note


def test_unbuilt_and_wrong_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="not built"):
        opcount.count_ops(keras.Sequential([L.Dense(3)]))
    with pytest.raises(TypeError, match="keras.Model"):
        opcount.count_ops(L.Dense(3))

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(keras.ops.zeros((1, 3)))
    with pytest.raises(TypeError, match="subclassed"):
        opcount.count_ops(model)


def test_sequential_built_with_build_call():
    model = keras.Sequential([L.Dense(4), L.Dense(2)])
    model.build((None, 3))
    assert opcount.count_ops(model).macs == 3 * 4 + 4 * 2


def test_table_text_and_html():
    model = _model((4, 4, 2), L.Conv2D(3, 3, padding="same", name="c<1>"), L.Flatten())
    result = opcount.count_ops(model)
    text = opcount.table(result)
    assert text.splitlines()[0].split() == ["layer", "type", "output", "shape", "params",
                                            "MACs", "note"]
    assert f"{4 * 4 * 9 * 2 * 3:,}" in text and "4×4×3" in text
    page = opcount.table(model, html=True)
    assert page.startswith("<table>") and "c&lt;1&gt;" in page and page.count("<tr") == 4
    assert result._repr_html_() == page and str(result) == text


# ---------------------------------------------------------------- TensorFlow as the referee
def _mixed_model():
    x = keras.Input((20, 20, 6))
    a = L.Conv2D(8, 5, strides=2, padding="same")(x)
    b = L.Conv2D(8, 3, strides=2, padding="valid", use_bias=False)(x)
    b = L.ZeroPadding2D(((0, 1), (0, 1)))(b)
    y = L.Concatenate()([a, b])
    y = L.DepthwiseConv2D(3, padding="same")(y)
    y = L.MaxPooling2D(2)(y)
    y = L.Conv2D(4, 1)(y)
    z = L.Dense(6)(L.Reshape((25, 4))(y))  # Dense on a 2-D input: a batched matmul
    out = L.Dense(10)(L.Flatten()(z))
    return keras.Model(x, out)


@pytest.mark.parametrize("build", [_mixed_model, lambda: _model(
    (28, 28, 192), L.Conv2D(32, 5, padding="same"))], ids=["mixed", "inception_3a_5x5"])
def test_counter_agrees_with_tensorflow_profiler_and_graph(build):
    model = build()
    result = opcount.count_ops(model)
    kinds = result.by_kind()
    flops = opcount.profiler_flops(model)
    graph = opcount.graph_macs(model)
    assert kinds["Conv2D"] == flops["Conv2D"] // 2 == graph["Conv2D"]
    dense = kinds.get("Dense", 0)
    assert dense == (flops.get("MatMul", 0) + flops.get("BatchMatMulV2", 0)) // 2
    assert dense == graph["MatMul"] + graph["BatchMatMulV2"]
    depthwise = kinds.get("DepthwiseConv2D", 0)
    assert depthwise == flops.get("DepthwiseConv2dNative", 0) // 2
    assert depthwise == graph["DepthwiseConv2dNative"]
    assert result.macs == sum(graph.values())


def test_parameter_total_agrees_with_keras():
    model = _mixed_model()
    assert opcount.count_ops(model).params == model.count_params()
    weights = sum(math.prod(w.shape) for w in model.weights)
    assert opcount.count_ops(model).params == weights
