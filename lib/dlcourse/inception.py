"""Inception modules (Szegedy et al. 2015, "Going deeper with convolutions") in Keras.

A module runs four towers on the same NHWC input and concatenates their outputs
on the channel axis:

    1×1 conv                          → n1x1 maps
    1×1 conv (n3x3red) → 3×3 conv     → n3x3 maps
    1×1 conv (n5x5red) → 5×5 conv     → n5x5 maps
    3×3 max-pool, stride 1, SAME → 1×1 conv (pool_proj) → pool_proj maps

so an H×W×C input becomes H×W×(n1x1 + n3x3 + n5x5 + pool_proj). A reduction of
``None`` drops that 1×1 layer (the "naive" tower runs straight on the input).
All convolutions use SAME padding, stride 1 and ReLU, as in the paper.

Also here: GoogLeNet's Table 1 as data (``GOOGLENET_TABLE1``), the whole GoogLeNet
trunk (``googlenet``), the course's MNIST reference network (``mnist_inception_net``)
and the hand formulas for a module's cost (``module_costs``).
"""

from dataclasses import dataclass, replace

from .core import validate
from .opcount import conv_macs, conv_params

__all__ = ["BRANCHES", "GOOGLENET_TABLE1", "INCEPTION_3A", "PAPER_TOTAL_MULTIPLY_ADDS",
           "InceptionSpec", "Table1Row", "forward_seconds", "googlenet", "inception_block",
           "inception_module_model", "mnist_inception_net", "module_costs", "naive_vs_reduced"]

BRANCHES = ("1x1", "3x3", "5x5", "pool")


@dataclass(frozen=True)
class InceptionSpec:
    """Tower widths of one inception module (the columns of the paper's Table 1)."""

    name: str
    n1x1: int
    n3x3red: int | None
    n3x3: int
    n5x5red: int | None
    n5x5: int
    pool_proj: int | None

    @property
    def out_channels(self) -> int:
        """Output depth; without a pool projection the pooled input passes through."""
        return self.n1x1 + self.n3x3 + self.n5x5 + (self.pool_proj or 0)

    def naive(self) -> "InceptionSpec":
        """The same module without the 1×1 reductions in front of the 3×3 and 5×5."""
        return replace(self, name=f"{self.name}_naive", n3x3red=None, n5x5red=None)


@dataclass(frozen=True)
class Table1Row:
    """One row of Table 1 of the paper, as printed (params in K, ops in M, both rounded)."""

    name: str
    kind: str           # "conv", "maxpool", "inception", "avgpool", "dropout", "linear", "softmax"
    patch: str          # e.g. "7×7/2"
    output: tuple[int, int, int]
    spec: InceptionSpec | None = None
    paper_params_k: float | None = None
    paper_ops_m: float | None = None


def _inception_row(name, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_proj, hw, params_k, ops_m):
    """A Table 1 row of an inception module with an hw×hw output."""
    spec = InceptionSpec(name, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_proj)
    return Table1Row(name, "inception", "", (hw, hw, spec.out_channels), spec, params_k, ops_m)


# Table 1 of Szegedy et al. (CVPR 2015): every row of the GoogLeNet trunk.
GOOGLENET_TABLE1: tuple[Table1Row, ...] = (
    Table1Row("conv1", "conv", "7×7/2", (112, 112, 64), None, 2.7, 34),
    Table1Row("pool1", "maxpool", "3×3/2", (56, 56, 64)),
    # the "convolution 3×3/1" row: a 1×1 reduction to 64 maps, then 3×3 to 192
    Table1Row("conv2", "conv", "3×3/1", (56, 56, 192), None, 112, 360),
    Table1Row("pool2", "maxpool", "3×3/2", (28, 28, 192)),
    _inception_row("inception_3a", 64, 96, 128, 16, 32, 32, 28, 159, 128),
    _inception_row("inception_3b", 128, 128, 192, 32, 96, 64, 28, 380, 304),
    Table1Row("pool3", "maxpool", "3×3/2", (14, 14, 480)),
    _inception_row("inception_4a", 192, 96, 208, 16, 48, 64, 14, 364, 73),
    _inception_row("inception_4b", 160, 112, 224, 24, 64, 64, 14, 437, 88),
    _inception_row("inception_4c", 128, 128, 256, 24, 64, 64, 14, 463, 100),
    _inception_row("inception_4d", 112, 144, 288, 32, 64, 64, 14, 580, 119),
    _inception_row("inception_4e", 256, 160, 320, 32, 128, 128, 14, 840, 170),
    Table1Row("pool4", "maxpool", "3×3/2", (7, 7, 832)),
    _inception_row("inception_5a", 256, 160, 320, 32, 128, 128, 7, 1072, 54),
    _inception_row("inception_5b", 384, 192, 384, 48, 128, 128, 7, 1388, 71),
    Table1Row("avgpool", "avgpool", "7×7/1", (1, 1, 1024)),
    Table1Row("dropout", "dropout", "", (1, 1, 1024)),
    Table1Row("linear", "linear", "", (1, 1, 1000), None, 1000, 1),
    Table1Row("softmax", "softmax", "", (1, 1, 1000)),
)

INCEPTION_3A = GOOGLENET_TABLE1[4].spec
PAPER_TOTAL_MULTIPLY_ADDS = 1.5e9  # "1.5 billion multiply-adds at inference time"


# ---------------------------------------------------------------- hand formulas
def module_costs(h: int, w: int, c_in: int, spec: InceptionSpec, bias: bool = True) -> dict:
    """Parameters and MACs of each tower of a module on an h×w×c_in input (SAME, stride 1).

    Returns {"1x1": (params, macs), "3x3": ..., "5x5": ..., "pool": ...}; a tower's
    numbers include its 1×1 reduction (or projection). Max-pooling costs no MACs.
    """
    h, w, c_in = (validate.count(name, n) for name, n in (("h", h), ("w", w), ("c_in", c_in)))

    def tower(reduce, c_out, k):
        if reduce is None:
            return conv_params(c_in, c_out, k, bias), conv_macs(h, w, c_in, c_out, k)
        return (conv_params(c_in, reduce, 1, bias) + conv_params(reduce, c_out, k, bias),
                conv_macs(h, w, c_in, reduce, 1) + conv_macs(h, w, reduce, c_out, k))

    pool = (0, 0) if spec.pool_proj is None else tower(None, spec.pool_proj, 1)
    return {"1x1": tower(None, spec.n1x1, 1), "3x3": tower(spec.n3x3red, spec.n3x3, 3),
            "5x5": tower(spec.n5x5red, spec.n5x5, 5), "pool": pool}


# ---------------------------------------------------------------- Keras builders
def _conv(x, filters, k, name, stride=1, padding="same"):
    import keras

    return keras.layers.Conv2D(filters, k, strides=stride, padding=padding,
                               activation="relu", name=name)(x)


def inception_block(x, spec: InceptionSpec, name: str | None = None):
    """Apply one inception module to the NHWC tensor ``x`` (B×H×W×C → B×H×W×out_channels).

    Layer names are ``{name}_1x1``, ``{name}_3x3_reduce``, ``{name}_3x3``, … so that a
    counter's rows can be grouped by tower.
    """
    import keras

    name = name or spec.name
    towers = [_conv(x, spec.n1x1, 1, f"{name}_1x1")]
    for red, width, k in ((spec.n3x3red, spec.n3x3, 3), (spec.n5x5red, spec.n5x5, 5)):
        t = x if red is None else _conv(x, red, 1, f"{name}_{k}x{k}_reduce")
        towers.append(_conv(t, width, k, f"{name}_{k}x{k}"))
    pooled = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    if spec.pool_proj is not None:
        pooled = _conv(pooled, spec.pool_proj, 1, f"{name}_pool_proj")
    towers.append(pooled)
    return keras.layers.Concatenate(axis=-1, name=f"{name}_concat")(towers)


def inception_module_model(input_shape: tuple[int, int, int], spec: InceptionSpec):
    """A Keras model holding one module: input H×W×C → output H×W×spec.out_channels."""
    import keras

    inputs = keras.Input(input_shape, name=f"{spec.name}_input")
    return keras.Model(inputs, inception_block(inputs, spec), name=spec.name)


def googlenet(input_shape=(224, 224, 3), classes: int = 1000):
    """GoogLeNet's main trunk from Table 1, untrained (no auxiliary classifiers, no LRN).

    224×224×3 → conv 7×7/2 → max-pool 3×3/2 → conv 1×1 (64) → conv 3×3 (192) →
    max-pool → inception 3a, 3b → max-pool → 4a…4e → max-pool → 5a, 5b →
    average-pool 7×7 → dropout 40% → linear → softmax over ``classes``.
    The local response normalisations of the paper have no weights or MACs and are left out.
    """
    import keras

    inputs = keras.Input(input_shape, name="image")
    x = _conv(inputs, 64, 7, "conv1_7x7", stride=2)
    x = keras.layers.MaxPooling2D(3, 2, padding="same", name="pool1")(x)
    x = _conv(x, 64, 1, "conv2_3x3_reduce")
    x = _conv(x, 192, 3, "conv2_3x3")
    for row in GOOGLENET_TABLE1[3:15]:
        if row.kind == "maxpool":
            x = keras.layers.MaxPooling2D(3, 2, padding="same", name=row.name)(x)
        else:
            x = inception_block(x, row.spec)
    x = keras.layers.AveragePooling2D(7, 1, padding="valid", name="avgpool")(x)
    x = keras.layers.Dropout(0.4, name="dropout")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="linear")(x)
    return keras.Model(inputs, outputs, name="googlenet")


def mnist_inception_net(maps=(32, 64), reduce: int = 16, dense: int = 700,
                        dropout: float = 0.5, input_shape=(28, 28, 1), classes: int = 10):
    """The course's reference MNIST network: two inception blocks, dense, dropout, logits.

    Block i has ``maps[i]`` maps in each of its four towers and ``reduce`` maps in the
    3×3 and 5×5 reductions; 28×28×1 → 28×28×4·maps[0] → 28×28×4·maps[1] → flatten →
    dense(dense, ReLU) → dropout → dense(classes) logits (no softmax).
    """
    import keras

    maps = validate.counts("maps", maps)
    reduce, dense = validate.count("reduce", reduce), validate.count("dense", dense)
    dropout = validate.finite_number("dropout", dropout, minimum=0.0, strictly_below=1.0)
    inputs = keras.Input(input_shape, name="digits")
    x = inputs
    for i, m in enumerate(maps, start=1):
        x = inception_block(x, InceptionSpec(f"block{i}", m, reduce, m, reduce, m, m))
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    # float32 logits even under a mixed-precision policy: the loss needs the full range
    outputs = keras.layers.Dense(classes, name="logits", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mnist_inception")


# ---------------------------------------------------------------- measuring speed
def forward_seconds(model, batch: int, repeat: int = 3, seed: int = 0) -> float:
    """Best wall-clock seconds of one compiled forward pass of ``model`` on ``batch`` examples.

    The model is wrapped in ``tf.function`` (traced once during warm-up); the result is
    pulled back to host memory inside the timed call so GPU work is really finished.
    """
    import numpy as np
    import tensorflow as tf

    from .timing import best_time

    batch = validate.count("batch", batch)
    rng = np.random.default_rng(validate.seed("seed", seed))
    x = tf.constant(rng.random((batch, *model.inputs[0].shape[1:]), dtype=np.float32))
    fn = tf.function(lambda t: model(t, training=False))
    return best_time(lambda: fn(x).numpy(), repeat=repeat, min_seconds=0.02)


def naive_vs_reduced(channels, hw: int = 28, batch: int = 8, repeat: int = 3,
                     spec: InceptionSpec | None = None, progress: bool = False) -> list[dict]:
    """Count and time a module with and without its 1×1 reductions as the input deepens.

    For each input depth C in ``channels`` the module ``spec`` (default inception 3a,
    tower widths fixed) runs on an hw×hw×C input, once as is ("reduced") and once
    without the reductions in front of its 3×3 and 5×5 ("naive"). Returns one dict per
    (C, variant) with keys c_in, variant, params, macs (per example, from
    ``opcount.count_ops``), seconds (best forward pass of ``batch`` examples) and gflops
    (achieved: 2·macs·batch / seconds / 1e9).
    """
    from tqdm.auto import tqdm

    from .opcount import count_ops

    spec = spec or INCEPTION_3A
    rows = []
    jobs = [(c, v) for c in channels for v in ("naive", "reduced")]
    for c_in, variant in tqdm(jobs, desc="timing modules", disable=not progress):
        model = inception_module_model((hw, hw, c_in), spec.naive() if variant == "naive" else spec)
        counted = count_ops(model)
        seconds = forward_seconds(model, batch, repeat)
        rows.append({"c_in": c_in, "variant": variant, "params": counted.params,
                     "macs": counted.macs, "seconds": seconds,
                     "gflops": 2 * counted.macs * batch / seconds / 1e9})
    return rows
