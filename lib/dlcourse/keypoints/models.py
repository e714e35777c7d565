"""The three keypoint models of lesson 08, built from standard Keras layers.

Every model maps images ``(n, 96, 96, 1)`` to scaled keypoints ``(n, 30)`` in
[-1, 1] (interleaved x, y of 15 points), so all train with the same loss.

- :func:`plain_encoder`: conv + 2×2 max-pool stages 96 → 48 → 24 → 12, then a dense
  head with a tanh output (the source post's head, without its decoder: a baseline).
- :func:`sumnet`: the same encoder; each scale makes its own 15 heat maps, which are
  upsampled to 96×96 and *summed* (the baseline of Honari et al. 2016).
- :func:`recombinator`: the same encoder; the decoder upsamples the coarse maps and
  *concatenates* them with the encoder maps of the same resolution before more
  convolutions, so fine features are formed with coarse context; 15 heat maps at
  96×96 are read out with a soft-argmax. Its full-resolution stage is kept thin (a 1×1
  squeeze, then one convolution of 16 channels): that is where the arithmetic is.

The soft-argmax is written with counted layers: Reshape, Permute, Softmax over the
9,216 positions, then a frozen Dense(2) whose kernel holds the (x, y) of every pixel
(the expected position is a dot product with the coordinate grid). The soft-argmax is
this course's read-out; :func:`heat_map_model` cuts it off, for the paper's training
(softmax and log-likelihood of the true pixel) and argmax read-out.
"""

import numpy as np

from .. import core
from .faces import KEYPOINT_NAMES, SIZE

__all__ = ["CONVS_PER_STAGE", "DECODER_WIDTHS", "WIDTHS", "coordinate_grid", "encoder",
           "heat_map_model", "plain_encoder", "receptive_fields", "recombinator",
           "soft_argmax_head", "sumnet", "upsample_repeat"]

N_POINTS = len(KEYPOINT_NAMES)
WIDTHS = (8, 16, 32, 48)  # encoder channels at 96, 48, 24 and 12 pixels
DECODER_WIDTHS = (48, 32, 16)  # recombinator decoder channels at 24, 48 and 96 pixels
CONVS_PER_STAGE = (2, 2, 1)  # recombinator 3×3 convolutions after each concatenation
SCALES = (96, 48, 24, 12)
COARSE_CONVS = 3  # 3×3 convolutions at 12×12: each widens the receptive field by 16 pixels
BN_MOMENTUM = 0.9  # short runs: the moving statistics must settle within a few hundred steps


def _bn_relu(x, name):
    """BatchNormalization -> ReLU after a bias-free linear layer called ``name``."""
    from keras import layers

    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _conv(x, filters, name, kernel=3, relu=True):
    """Conv2D (SAME); with ``relu`` it is Conv2D -> BatchNormalization -> ReLU, else linear."""
    from keras import layers

    if not relu:
        return layers.Conv2D(filters, kernel, padding="same", name=name)(x)
    return _bn_relu(layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name)(x),
                    name)


def encoder(x, widths=WIDTHS):
    """The shared encoder: returns the feature maps at 96, 48, 24 and 12 pixels (NHWC).

    One 3×3 convolution per scale, and ``COARSE_CONVS`` at 12×12, where they are cheap
    and give each unit the context of most of the face (see :func:`receptive_fields`).
    """
    from keras import layers

    feats = []
    for i, (size, w) in enumerate(zip(SCALES, core.counts("widths", widths, 4), strict=True)):
        if i:
            x = layers.MaxPooling2D(2, name=f"pool{size}")(x)
        for j in range(COARSE_CONVS if size == SCALES[-1] else 1):
            x = _conv(x, w, f"enc{size}" + (f"_{j}" if j else ""))
        feats.append(x)
    return feats


def coordinate_grid(size: int = SIZE) -> np.ndarray:
    """``(size², 2)`` float32: the scaled (x, y) of every pixel in row-major order.

    Row ``r·size + c`` holds ((c − size/2)/(size/2), (r − size/2)/(size/2)), the
    same scaling as :func:`dlcourse.keypoints.scale_targets`.
    """
    half = size / 2
    r, c = np.divmod(np.arange(size * size), size)
    return np.stack([(c - half) / half, (r - half) / half], axis=1).astype(np.float32)


def soft_argmax_head(heat, name="soft_argmax"):
    """Heat maps ``(n, s, s, k)`` -> scaled coordinates ``(n, 2k)``, interleaved x, y."""
    from keras import layers

    s, k = heat.shape[1], heat.shape[3]
    # float32 even under a mixed-precision policy: bfloat16 would round the coordinates
    # to about 1/128 of the half-width, 0.4 pixels
    x = layers.Reshape((s * s, k), name="flatten_positions", dtype="float32")(heat)
    x = layers.Permute((2, 1), name="points_first", dtype="float32")(x)  # (k, s²)
    x = layers.Softmax(axis=-1, name="softmax_positions", dtype="float32")(x)
    dense = layers.Dense(2, use_bias=False, trainable=False, name=name, dtype="float32")
    x = dense(x)  # (k, 2): the expected (x, y) of each point
    dense.set_weights([coordinate_grid(s)])
    return layers.Reshape((2 * k,), name="keypoints", dtype="float32")(x)


def heat_map_model(model):
    """The part of a heat-map model (SumNet, RCN) before its soft-argmax head.

    model: built by :func:`sumnet` or :func:`recombinator` -> a Keras model from the same
    input to the heat maps ``(n, 96, 96, 15)``, sharing its layers (and weights). Raises
    ValueError for a model without a soft-argmax head, such as :func:`plain_encoder`.
    """
    import keras

    try:
        heat = model.get_layer("flatten_positions").input
    except ValueError:
        raise ValueError(f"model {model.name!r} has no soft-argmax head to cut off: only "
                         "sumnet and recombinator end in heat maps") from None
    return keras.Model(model.input, heat, name=f"{model.name}_heat")


def upsample_repeat(x, factor: int = 2):
    """Nearest-neighbour upsampling by hand: repeat rows and columns ``factor`` times.

    x: ``(n, h, w, c)`` NumPy array -> ``(n, h·factor, w·factor, c)``.
    """
    x = core.array("x", x, "n, h, w, c")
    return np.repeat(np.repeat(x, factor, axis=1), factor, axis=2)


def plain_encoder(widths=WIDTHS, hidden: int = 128, name="plain_encoder"):
    """(a) Encoder + Dense(hidden) -> BatchNormalization -> ReLU + Dense(30, tanh).

    The hidden layer is normalised like every convolution of the encoder. Without it,
    Adam's first steps (each about the learning rate per weight, all in one direction)
    move the pre-activations of a layer with 6,912 inputs by several units per step: the
    tanh saturates at ±1 within tens of steps, its gradient vanishes, and the model can
    stop learning for good (in one trial every prediction stayed on the image border for
    all 2,000 steps).
    """
    import keras
    from keras import layers

    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    x = layers.Flatten(name="flatten")(encoder(inputs, widths)[-1])
    x = _bn_relu(layers.Dense(hidden, use_bias=False, name="hidden")(x), "hidden")
    out = layers.Dense(2 * N_POINTS, activation="tanh", name="keypoints", dtype="float32")(x)
    return keras.Model(inputs, out, name=name)


def sumnet(widths=WIDTHS, name="sumnet"):
    """(b) Each scale: conv -> 15 maps, upsampled to 96×96 and summed; then soft-argmax."""
    import keras
    from keras import layers

    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    maps = []
    for size, feat, w in zip(SCALES, encoder(inputs, widths), widths, strict=True):
        x = _conv(feat, w, f"branch{size}")
        x = _conv(x, N_POINTS, f"heat{size}", kernel=1, relu=False)
        if size < SIZE:
            x = layers.UpSampling2D(SIZE // size, name=f"up{size}")(x)
        maps.append(x)
    heat = layers.Add(name="sum")(maps)
    return keras.Model(inputs, soft_argmax_head(heat), name=name)


def recombinator(widths=WIDTHS, decoder_widths=DECODER_WIDTHS, convs_per_stage=CONVS_PER_STAGE,
                 name="rcn"):
    """(c) Upsample the coarse maps, concatenate with the encoder maps, convolve; soft-argmax.

    decoder_widths: channels of the decoder convolutions at 24, 48 and 96 pixels. They must
    carry the coarse "where roughly is each of the 15 points" up to full resolution, so they
    are kept at 15 or more. convs_per_stage: 3×3 convolutions after each concatenation, at
    24, 48 and 96 pixels (the first mixes coarse and fine maps, the next ones refine the
    mixture); an int means the same number at every scale.

    Before the last upsampling a 1×1 convolution squeezes the 48-pixel maps to the
    96-pixel width: a channel at 96×96 costs four times what it costs at 48×48, and the
    full-resolution stage only has to place peaks that the coarser stages already found.
    """
    import keras
    from keras import layers

    decoder_widths = core.counts("decoder_widths", decoder_widths, 3)
    if core.is_int(convs_per_stage):
        convs_per_stage = (convs_per_stage,) * 3
    convs_per_stage = core.counts("convs_per_stage", convs_per_stage, 3)
    inputs = keras.Input((SIZE, SIZE, 1), name="image")
    feats = encoder(inputs, widths)
    x = feats[-1]
    for size, feat, w, n in zip(SCALES[-2::-1], feats[-2::-1], decoder_widths, convs_per_stage,
                                strict=True):
        if size == SIZE:
            x = _conv(x, w, "squeeze", kernel=1)
        x = layers.UpSampling2D(2, name=f"up{size}")(x)
        x = layers.Concatenate(name=f"concat{size}")([feat, x])
        for j in range(n):
            x = _conv(x, w, f"dec{size}" + (f"_{j}" if j else ""))
    heat = _conv(x, N_POINTS, "heat", kernel=1, relu=False)
    return keras.Model(inputs, soft_argmax_head(heat), name=name)


def receptive_fields(kernel: int = 3) -> dict[int, int]:
    """Receptive field (pixels of the input) of one unit of the encoder at each scale.

    Walk the encoder's layers with the usual recursion: a k×k conv adds (k−1)·jump,
    a 2×2 pool adds jump and doubles the jump (the distance in input pixels between
    neighbouring units).
    """
    rf, jump, out = 1, 1, {}
    for i, size in enumerate(SCALES):
        if i:
            rf, jump = rf + jump, jump * 2
        rf += (COARSE_CONVS if size == SCALES[-1] else 1) * (kernel - 1) * jump
        out[size] = rf
    return out
