"""Counting parameters and multiply-accumulates (MACs) of a Keras model, layer by layer.

:func:`count_ops` walks a built model and returns a :class:`Count` (its rows and totals);
it is named apart from :func:`dlcourse.core.count`, which checks a count argument.

One MAC is one multiplication followed by one addition into a running sum, so a
layer of M MACs costs about 2·M floating-point operations (FLOPs). The counts are
for ONE example (the batch axis is left out). Conventions:

- Convolutions (Conv1D/2D/3D, any stride, SAME/VALID, dilation, groups) and
  Dense: k_h·k_w·(C_in/groups)·C_out MACs per output position. Bias additions are
  not multiplications and are not counted as MACs (their parameters are).
- DepthwiseConv2D: k_h·k_w per output value; SeparableConv2D: depthwise + 1×1.
- BatchNormalization: one MAC per output value (at inference it is x·scale + shift).
- Pooling, concatenation, add, activations, upsampling, flatten/reshape, padding,
  dropout: 0 MACs (comparisons, additions or copies, no multiply-accumulate).
- Any other layer is listed as "not counted" (``macs is None``), never as zero.

Shapes: a row's ``output_shape`` is the layer's output without the batch axis,
e.g. ``(28, 28, 256)`` for an NHWC feature map.
"""

import html
import math
from dataclasses import dataclass

from .core.shapes import is_int, normalize_padding, output_size, pair

__all__ = ["Count", "Row", "conv_macs", "conv_output_size", "conv_params", "count_ops", "table"]


# ---------------------------------------------------------------- hand formulas
def conv_output_size(n, k, stride=1, padding="VALID"):
    """Output length of a convolution or pooling window: :func:`dlcourse.core.output_size` per axis.

    VALID (the default, as in ``core``): floor((n - k) / stride) + 1, 0 if the window
    does not fit; SAME: ceil(n / stride) (TensorFlow pads as needed, maybe unevenly).
    With ints n, k and stride, one axis: returns an int, and padding is a name, an
    int or a ``(before, after)`` pair. When any of n, k, stride is a pair (h, w),
    two axes: the others are used on both, padding is read per axis as in
    :func:`dlcourse.core.normalize_padding` (``(p_h, p_w)`` or one pair per axis),
    and the result is ``(out_h, out_w)``.
    """
    if all(is_int(v) for v in (n, k, stride)):
        return output_size(n, k, stride, padding)
    padding = normalize_padding(padding)
    per_axis = (padding, padding) if isinstance(padding, str) else padding
    return tuple(output_size(*axis) for axis in zip(
        pair(n, "n"), pair(k, "k"), pair(stride, "stride"), per_axis, strict=True))


def conv_macs(h: int, w: int, c_in: int, c_out: int, k, stride=1, padding="SAME") -> int:
    """MACs of one 2-D convolution on an h×w×c_in input (NHWC, one example).

    k: kernel size, int or (k_h, k_w); stride: int or (s_h, s_w); padding: "SAME",
    "VALID" or explicit amounts (see :func:`dlcourse.core.normalize_padding`).
    Python and NumPy integers are accepted.
    Returns k_h·k_w·H_out·W_out·c_in·c_out; with SAME padding and stride 1 this
    is the familiar k²·H·W·C_in·C_out.
    """
    c_in, c_out = pair((c_in, c_out), "(c_in, c_out)")
    kh, kw = pair(k, "k")
    h_out, w_out = conv_output_size(pair((h, w), "(h, w)"), (kh, kw), stride, padding)
    return kh * kw * h_out * w_out * c_in * c_out


def conv_params(c_in: int, c_out: int, k, bias: bool = True) -> int:
    """Parameters of a 2-D convolution: k_h·k_w·c_in·c_out weights (+ c_out biases)."""
    (c_in, c_out), (kh, kw) = pair((c_in, c_out), "(c_in, c_out)"), pair(k, "k")
    return kh * kw * c_in * c_out + (c_out if bias else 0)


# ---------------------------------------------------------------- the counter
@dataclass(frozen=True)
class Row:
    """One call of one layer: ``macs is None`` means the layer is not counted."""

    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int | None
    note: str = ""


@dataclass(frozen=True, repr=False)
class Count:
    """The rows of :func:`count_ops` and their totals; displays as a table in a notebook."""

    model_name: str
    rows: tuple[Row, ...]

    @property
    def params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def macs(self) -> int:
        """Total MACs of the counted layers (see :attr:`not_counted`)."""
        return sum(r.macs for r in self.rows if r.macs is not None)

    @property
    def not_counted(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.macs is None)

    def by_kind(self) -> dict[str, int]:
        """Total MACs per layer class, e.g. {"Conv2D": ..., "Dense": ...}."""
        totals: dict[str, int] = {}
        for r in self.rows:
            if r.macs is not None:
                totals[r.kind] = totals.get(r.kind, 0) + r.macs
        return totals

    def __str__(self) -> str:
        return _text_table(self)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return _html_table(self)


_ZERO_MAC = {
    "MaxPooling1D": "max: comparisons only", "MaxPooling2D": "max: comparisons only",
    "MaxPooling3D": "max: comparisons only",
    "AveragePooling1D": "average: additions only", "AveragePooling2D": "average: additions only",
    "AveragePooling3D": "average: additions only",
    "GlobalMaxPooling1D": "max: comparisons only", "GlobalMaxPooling2D": "max: comparisons only",
    "GlobalAveragePooling1D": "average: additions only",
    "GlobalAveragePooling2D": "average: additions only",
    "Concatenate": "copy", "Add": "element-wise add", "Subtract": "element-wise subtract",
    "Average": "element-wise mean", "Maximum": "element-wise max", "Minimum": "element-wise min",
    "Activation": "element-wise", "ReLU": "element-wise", "Softmax": "element-wise",
    "LeakyReLU": "element-wise", "ELU": "element-wise",
    "UpSampling1D": "copy", "UpSampling2D": "copy", "UpSampling3D": "copy",
    "Flatten": "copy", "Reshape": "copy", "Permute": "copy", "Identity": "copy",
    "ZeroPadding2D": "copy", "Cropping2D": "copy",
    "Dropout": "identity at inference", "SpatialDropout2D": "identity at inference",
}


def _conv_layer_macs(layer, in_shape, out_shape) -> int:
    cfg = layer.get_config()
    first = cfg.get("data_format", "channels_last") == "channels_first"
    c_in = in_shape[0] if first else in_shape[-1]
    spatial_out = out_shape[1:] if first else out_shape[:-1]
    return (math.prod(spatial_out) * math.prod(cfg["kernel_size"])
            * (c_in // cfg.get("groups", 1)) * cfg["filters"])


def _layer_macs(layer, in_shapes, out_shape) -> tuple[int | None, str]:
    """(MACs, note) of one call; MACs None when the layer kind is not supported."""
    kind = type(layer).__name__
    cfg = layer.get_config()
    if kind in _ZERO_MAC:
        return 0, _ZERO_MAC[kind]
    if any(d is None for shape in (*in_shapes, out_shape) for d in shape):
        return None, "not counted: the input or output size is not fixed (None)"
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        return _conv_layer_macs(layer, in_shapes[0], out_shape), ""
    if kind == "Dense":
        return math.prod(in_shapes[0]) * cfg["units"], ""
    if kind in ("DepthwiseConv2D", "SeparableConv2D"):
        first = cfg.get("data_format", "channels_last") == "channels_first"
        c_in = in_shapes[0][0] if first else in_shapes[0][-1]
        positions = math.prod(out_shape[1:] if first else out_shape[:-1])
        depthwise = positions * math.prod(cfg["kernel_size"]) * c_in * cfg["depth_multiplier"]
        if kind == "DepthwiseConv2D":
            return depthwise, ""
        pointwise = positions * c_in * cfg["depth_multiplier"] * cfg["filters"]
        return depthwise + pointwise, "depthwise + 1×1"
    if kind == "BatchNormalization":
        return math.prod(out_shape), "x·scale + shift at inference"
    return None, "not counted: no rule for this layer"


def _is_model(layer) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def _graph_of(model):
    """The functional graph of a Functional or Sequential model, or a clear error."""
    graph = getattr(model, "_functional", None) or model  # a built Sequential keeps one
    if not model.built:
        raise ValueError(
            f"model '{model.name}' is not built: give it an input first, e.g. "
            "keras.Sequential([keras.Input(shape), ...]) or model.build((None, *shape))")
    if not hasattr(graph, "_nodes_by_depth"):
        raise TypeError(
            f"model '{model.name}' ({type(model).__name__}) has no layer graph to walk "
            "(a subclassed model?): count_ops works on Functional and Sequential models")
    return graph


def _shape(tensor) -> tuple:
    return tuple(tensor.shape[1:])


def _walk(model, prefix: str, seen: set[int], rows: list[Row]) -> None:
    # Keras 3 keeps a functional model's calls in ``_nodes_by_depth`` (what model.summary()
    # walks too): one Node per call, with its input and output tensors. Deepest = inputs first.
    graph = _graph_of(model)
    order = {id(layer): i for i, layer in enumerate(graph.layers)}
    for depth in sorted(graph._nodes_by_depth, reverse=True):
        nodes = sorted(graph._nodes_by_depth[depth], key=lambda n: order.get(id(n.operation), 0))
        for node in nodes:
            layer = node.operation
            if type(layer).__name__ == "InputLayer":
                continue  # no cost, no parameters: not a row
            if _is_model(layer):
                _walk(layer, f"{prefix}{layer.name}/", seen, rows)
                continue
            first_call = id(layer) not in seen
            seen.add(id(layer))
            ins = [_shape(t) for t in node.input_tensors]
            out = _shape(node.output_tensors[0])
            macs, note = _layer_macs(layer, ins, out)
            if not first_call:
                note = "; ".join(x for x in (note, "shared layer: params counted once") if x)
            rows.append(Row(prefix + layer.name, type(layer).__name__, out,
                            layer.count_params() if first_call else 0, macs, note))


def count_ops(model) -> Count:
    """Parameters and MACs of every layer call of a built Keras model.

    model: a built ``keras.Model`` (Functional or Sequential; nested models are
    walked and their layers named ``outer/inner``). A layer called twice gets two
    rows (MACs twice, parameters once); input layers get no row. Raises TypeError
    for anything that is not a Keras model (or a subclassed model, which has no
    layer graph) and ValueError for a model that has not been built.
    """
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"count_ops expects a built keras.Model, got {type(model).__name__}")
    rows: list[Row] = []
    _walk(model, "", set(), rows)
    return Count(model.name, tuple(rows))


# ---------------------------------------------------------------- rendering
def _cells(result: Count) -> tuple[tuple[str, ...], list[tuple[str, ...]], tuple[str, ...]]:
    header = ("layer", "type", "output shape", "params", "MACs", "note")
    body = [(r.name, r.kind, "×".join(str(d) for d in r.output_shape) or "scalar",
             f"{r.params:,}", "not counted" if r.macs is None else f"{r.macs:,}", r.note)
            for r in result.rows]
    missing = len(result.not_counted)
    total_note = f"{missing} layer(s) not counted" if missing else ""
    total = ("total", "", "", f"{result.params:,}", f"{result.macs:,}", total_note)
    return header, body, total


def _text_table(result: Count) -> str:
    header, body, total = _cells(result)
    rows = [header, *body, total]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    right = {3, 4}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *map(line, body), rule, line(total)])


def _html_table(result: Count) -> str:
    header, body, total = _cells(result)

    def tr(cells, tag="td", style=""):
        align = ["right" if i in (3, 4) else "left" for i in range(len(cells))]
        tds = "".join(f'<{tag} style="text-align:{a}">{html.escape(c)}</{tag}>'
                      for a, c in zip(align, cells, strict=True))
        return f"<tr{style}>{tds}</tr>"

    rows = "".join(tr(r) for r in body)
    bold = ' style="font-weight:bold"'
    return (f"<table><caption>{html.escape(result.model_name)}</caption>"
            f"<thead>{tr(header, 'th')}</thead><tbody>{rows}"
            f"{tr(total, style=bold)}</tbody></table>")


def table(model_or_count, html: bool = False) -> str:
    """The per-layer table as plain text, or as an HTML ``<table>`` when ``html=True``.

    Accepts a built Keras model or the :class:`Count` of one.
    """
    result = model_or_count if isinstance(model_or_count, Count) else count_ops(model_or_count)
    return _html_table(result) if html else _text_table(result)


# ---------------------------------------------------------------- independent measurements
# Two ways to measure a model's MACs that share no code with `count_ops`: both trace the
# model into a TensorFlow graph for one example and look at the graph's own ops.
MAC_OPS = ("Conv2D", "MatMul", "BatchMatMulV2", "DepthwiseConv2dNative")


def _concrete_graph(model):
    """The tf.Graph of ``model(x, training=False)`` for a batch of one example."""
    import tensorflow as tf

    specs = [tf.TensorSpec((1, *t.shape[1:]), t.dtype) for t in model.inputs]
    fn = tf.function(lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False))
    return fn.get_concrete_function(*specs).graph


def profiler_flops(model) -> dict[str, int]:
    """FLOPs per TensorFlow op type, as TensorFlow's own profiler counts them.

    Uses the (TF1-era, still shipped) ``tensorflow.python.profiler.model_analyzer``
    with ``ProfileOptionBuilder.float_operation()`` on the traced graph, grouped by op
    type (``cmd="op"``). Conv2D and MatMul count 2 FLOPs per MAC; bias additions and
    other element-wise ops appear under their own op types.
    """
    import tensorflow as tf
    from tensorflow.python.profiler import model_analyzer, option_builder

    options = option_builder.ProfileOptionBuilder(
        option_builder.ProfileOptionBuilder.float_operation()).with_empty_output().build()
    graph = _concrete_graph(model)
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # the TF1 profiler logs deprecation warnings about itself
    try:
        root = model_analyzer.profile(graph, cmd="op", options=options)
    finally:
        logger.setLevel(level)
    flops: dict[str, int] = {}
    stack = list(root.children)
    while stack:  # the op view nests each op type under the previous one
        node = stack.pop()
        flops[node.name] = flops.get(node.name, 0) + int(node.float_ops)
        stack.extend(node.children)
    return flops


def graph_macs(model) -> dict[str, int]:
    """MACs per op type, read off the shapes of the traced graph's Conv2D/MatMul ops.

    Conv2D: output elements × k_h·k_w·C_in (kernel HWIO). DepthwiseConv2dNative:
    output elements × k_h·k_w. MatMul/BatchMatMulV2: batch·m·k·n from the operands.
    """
    totals = dict.fromkeys(MAC_OPS, 0)
    for op in _concrete_graph(model).get_operations():
        if op.type not in MAC_OPS:
            continue
        out = op.outputs[0].shape.as_list()
        if op.type == "Conv2D":
            kh, kw, c_in, _ = op.inputs[1].shape.as_list()
            macs = math.prod(out) * kh * kw * c_in
        elif op.type == "DepthwiseConv2dNative":
            kh, kw, _, _ = op.inputs[1].shape.as_list()
            macs = math.prod(out) * kh * kw
        else:
            a = op.inputs[0].shape.as_list()
            adj = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
            macs = math.prod(out) * (a[-2] if adj else a[-1])
        totals[op.type] += macs
    return totals
