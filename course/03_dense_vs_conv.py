# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Dense layers are convolutions
#
# A dense layer and a convolution are the same operation seen from two sides: a
# convolution is a small dense layer applied to every patch of an image, and a dense
# layer is a convolution whose kernel happens to cover the whole input. Knowing
# this lets you move weights between the two, slide a trained classifier over a
# large image, and write many small matrix products as one.
#
# **You will learn to**
# 1. turn the 4000×64 weight matrix of a dense layer on 20×20×10 tiles into the
#    20×20×10×64 kernel of a strided convolution, and spot the three classic ways
#    to get that wrong (reshape order, NCHW vs NHWC, flipped kernels);
# 2. see which input pixels feed which output neuron (a widget);
# 3. use the special cases: 1×1 convolutions, and a dense head rewritten as
#    convolutions so a digit classifier slides over a whole page;
# 4. compute capsule-style predictions (many tiny matrix products) by tiling,
#    broadcasting and `einsum`, and measure what each costs in time and memory;
# 5. convolve with a *computed* kernel, and cut a long time series into
#    overlapping windows without copying it.
#
# **Time:** under a minute in quick mode (`DLCOURSE_QUICK=1`), 1–3 minutes in full
# mode on a CPU (longer training of the two small models). Every equivalence below is checked against TensorFlow or SciPy and
# the largest absolute difference is printed.

# %%
import time

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
import scipy.signal
import tensorflow as tf
from keras import layers
from tqdm.auto import tqdm

from dlcourse import checks, config, core, dense, interact, report, timing

NOTEBOOK = "03_dense_vs_conv"
keras.utils.set_random_seed(0)
# Exact float32 on GPUs too: TensorFloat-32 (on by default on recent NVIDIA GPUs) rounds
# matmul/conv inputs to 10-bit mantissas, far above the differences this lesson checks.
tf.config.experimental.enable_tensor_float_32_execution(False)

# %% tags=["parameters"]
QUICK = config.quick_mode()  # DLCOURSE_QUICK=1: quick mode (small sizes); 0 or unset: full
IMAGE_HW, CHANNELS, TILE, FILTERS = (100, 60), 10, 20, 64  # the lesson's layer
SCIPY_FILTERS = 4 if QUICK else 64  # filters re-checked with scipy.signal
MNIST_EPOCHS = 2 if QUICK else 6  # tiny digit classifier
MNIST_TRAIN = 8_000 if QUICK else None  # None: every training image available
CANVAS_HW, N_PASTED = (56, 168), 9  # the "page" of digits for the sliding classifier
CAPSULE_BATCH = 50  # 50 × 1152 × 8 → 10 × 16, as in the issue
TIMING_REPEAT = 2 if QUICK else 5
SERIES_STEPS, SERIES_CHANNELS, WINDOW = 30_000, 10, 100
SERIES_EPOCHS = 3 if QUICK else 8


# %% [markdown]
# Every claim below is checked the same way: `checks.assert_close` prints the largest
# absolute difference between two results (the evidence) and stops if it exceeds the
# tolerance (the verdict).


# %% [markdown]
# ## 1 · A dense layer on tiles is a strided convolution
#
# Take an input of 100×60 pixels with 10 channels, cut it into 20×20 tiles
# (5 rows × 3 columns of tiles), flatten each tile to 20·20·10 = 4000 numbers and
# apply one dense layer with 64 outputs to each. That layer has
# $4000 \times 64 = 256\,000$ weights plus 64 biases, shared by all 15 tiles.
# Output $f$ of tile $(i, j)$ is
#
# $$ y_{ijf} = b_f + \sum_{u=0}^{19}\sum_{v=0}^{19}\sum_{c=0}^{9}
#    x_{20i+u,\;20j+v,\;c}\; W_{(20u+v)\cdot 10 + c,\; f}, $$
#
# where the row index $(20u+v)\cdot10+c$ is the position of pixel $(u, v, c)$ in the
# tile flattened in NHWC (row-major, "C") order. A convolution with 64 filters of
# 20×20, stride 20 and VALID padding computes
# $y_{ijf} = b_f + \sum_{u,v,c} x_{20i+u, 20j+v, c}\,K_{u v c f}$: the same sum once
# $K_{uvcf} = W_{(20u+v)\cdot10+c,\,f}$, which is exactly `W.reshape(20, 20, 10, 64)`.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((1, *IMAGE_HW, CHANNELS)).astype(np.float32)
W = (
    rng.standard_normal((TILE * TILE * CHANNELS, FILTERS)) / np.sqrt(TILE * TILE * CHANNELS)
).astype(np.float32)
b = rng.standard_normal(FILTERS).astype(np.float32)
print("input", x.shape, " dense weights", W.shape, " bias", b.shape)

# the definition: loop over the tiles, flatten each, one matrix product per tile
rows, cols = IMAGE_HW[0] // TILE, IMAGE_HW[1] // TILE
local_dense = np.zeros((1, rows, cols, FILTERS), np.float32)
for i in range(rows):
    for j in range(cols):
        tile = x[0, i * TILE : (i + 1) * TILE, j * TILE : (j + 1) * TILE, :]
        local_dense[0, i, j] = tile.reshape(-1) @ W + b
print("local dense output", local_dense.shape, "(5 × 3 tiles × 64 outputs)")

# %% [markdown]
# Now the same thing as a Keras `Conv2D` layer whose kernel is the reshaped matrix.

# %%
conv = layers.Conv2D(FILTERS, TILE, strides=TILE, padding="valid")
conv.build(x.shape)
conv.set_weights([dense.dense_to_conv_kernel(W, (TILE, TILE, CHANNELS)), b])
conv_out = conv(x).numpy()
print("Conv2D output", conv_out.shape, " kernel", conv.kernel.shape)
err_tile_conv = checks.assert_close(
    "dense on each tile vs Conv2D(64, 20, stride 20, VALID)", conv_out, local_dense,
    tol=1e-4,
)
checks.assert_close(
    "dense.tile_dense (reshape-only version) vs the loop",
    dense.tile_dense(x, W, b, (TILE, TILE)),
    local_dense,
    tol=1e-4,
)
report.record(NOTEBOOK, "tile dense vs Conv2D max abs diff", err_tile_conv, "")

# %% [markdown]
# ## 2 · Three ways to get the reshape wrong
#
# **Fortran order.** `W.reshape(20, 20, 10, 64, order="F")` fills the *first* axis
# fastest, so row 1 of the matrix (pixel (0,0), channel 1) lands at kernel position
# (1, 0, 0): every weight ends up on the wrong pixel and channel.
#
# **NCHW vs NHWC.** PyTorch (and Caffe, and Theano) keep images as N×C×H×W, so a dense
# layer trained there saw each tile flattened as $(c, u, v)$: row $(c\cdot20+u)\cdot20+v$.
# Its weights must be reshaped to (10, 20, 20, 64) and the channel axis moved behind
# the spatial ones, `transpose(1, 2, 0, 3)`, before TensorFlow's HWIO layout fits.
# `dense.dense_to_conv_kernel(W, shape, patch_layout="CHW")` does that.

# %%
# a dense layer "trained" on NCHW tiles: same idea, different flattening order
x_nchw = x.transpose(0, 3, 1, 2)
local_dense_chw = np.zeros_like(local_dense)
for i in range(rows):
    for j in range(cols):
        tile_chw = x_nchw[0, :, i * TILE : (i + 1) * TILE, j * TILE : (j + 1) * TILE]
        local_dense_chw[0, i, j] = tile_chw.reshape(-1) @ W + b


def conv_with(kernel):
    return tf.nn.conv2d(x, kernel, strides=TILE, padding="VALID").numpy() + b


# %%
right = {
    "C order": (conv_with(W.reshape(TILE, TILE, CHANNELS, FILTERS)), local_dense),
    "NCHW weights, reshape + transpose": (
        conv_with(dense.dense_to_conv_kernel(W, (TILE, TILE, CHANNELS), "CHW")),
        local_dense_chw,
    ),
}
wrong = {
    "Fortran order": (conv_with(W.reshape(TILE, TILE, CHANNELS, FILTERS, order="F")), local_dense),
    "NCHW weights, plain reshape": (
        conv_with(W.reshape(TILE, TILE, CHANNELS, FILTERS)),
        local_dense_chw,
    ),
}
reshape_errors = {
    name: checks.assert_close(f"{name:33s}", got, expected, tol=1e-4)
    for name, (got, expected) in right.items()
}
for name, (got, expected) in wrong.items():
    reshape_errors[name] = float(np.abs(got - expected).max())
    print(f"{name:33s}: max |difference| = {reshape_errors[name]:.2e}  (wrong)")
    assert reshape_errors[name] > 0.5
report.record(
    NOTEBOOK,
    "NCHW dense to HWIO kernel max abs diff",
    reshape_errors["NCHW weights, reshape + transpose"],
    "",
)

# %% [markdown]
# To *see* the scramble, give filter 0 a recognisable picture: a bright diagonal
# stripe in channel 0 only. Flatten it the way the dense layer would (C order), then
# unflatten it both ways.

# %%
picture = np.zeros((TILE, TILE, CHANNELS), np.float32)
picture[np.arange(TILE), np.arange(TILE), 0] = 1.0
picture[np.arange(TILE - 3), np.arange(3, TILE), 0] = 0.5
column = picture.reshape(-1)  # one column of a dense weight matrix
fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
panels = [
    ("kernel[..., channel 0]", picture[..., 0]),
    ("C-order reshape", column.reshape(TILE, TILE, CHANNELS)[..., 0]),
    ("Fortran-order reshape", column.reshape(TILE, TILE, CHANNELS, order="F")[..., 0]),
]
for ax, (title, img) in zip(axes, panels, strict=True):
    ax.imshow(img, cmap="gray")
    ax.set_title(title)
    ax.set_xlabel("kernel column $v$")
    ax.set_ylabel("kernel row $u$")
fig.suptitle("One filter's weights, unflattened in the right and the wrong order")
plt.tight_layout()
plt.show()
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.barh(
    list(reshape_errors),
    np.maximum(list(reshape_errors.values()), 1e-8),
    color=["tab:green", "tab:green", "tab:red", "tab:red"],
)
ax.set_xscale("log")
ax.set_xlabel("max |conv − dense on tiles| (log scale)")
ax.set_title("Only the matching flattening order reproduces the dense layer")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Flipped kernels.** Deep-learning "convolutions" are really *cross-correlations*:
# the kernel is not flipped. A library that computes a true convolution,
# $(x * k)[n] = \sum_m x[n-m]\,k[m]$, such as `scipy.signal.convolve`, gives the same
# result only with the kernel reversed along **every** axis it slides over. Here we
# let SciPy slide a 20×20×10 kernel over the 100×60×10 input in all three axes with
# `mode="valid"` (the channel axis then has a single position) and keep every 20th
# position to get stride 20.

# %%
kernel = dense.dense_to_conv_kernel(W, (TILE, TILE, CHANNELS))
scipy_corr, scipy_conv, scipy_conv_flipped = [], [], []
for f in range(SCIPY_FILTERS):
    k = kernel[..., f]
    scipy_corr.append(scipy.signal.correlate(x[0], k, mode="valid")[::TILE, ::TILE, 0] + b[f])
    scipy_conv.append(scipy.signal.convolve(x[0], k, mode="valid")[::TILE, ::TILE, 0] + b[f])
    flipped = dense.flip_spatial(k, axes=(0, 1, 2))
    scipy_conv_flipped.append(
        scipy.signal.convolve(x[0], flipped, mode="valid")[::TILE, ::TILE, 0] + b[f]
    )
reference = conv_out[0, ..., :SCIPY_FILTERS]
err_scipy_corr = checks.assert_close(
    "scipy.signal.correlate vs Conv2D", np.stack(scipy_corr, -1), reference,
    tol=1e-4,
)
err_flip = checks.assert_close(
    "scipy.signal.convolve with the flipped kernel vs Conv2D",
    np.stack(scipy_conv_flipped, -1),
    reference,
    tol=1e-4,
)
unflipped = float(np.abs(np.stack(scipy_conv, -1) - reference).max())
print(f"scipy.signal.convolve WITHOUT the flip: max |difference| = {unflipped:.2f}  (wrong)")
assert unflipped > 0.5
report.record(NOTEBOOK, "scipy convolve with flipped kernel max abs diff", err_flip, "")

# %% [markdown]
# > **Then and now.** Theano's `conv2d` (2010–2017) really convolved (`filter_flip=True`
# > by default), while TensorFlow's `tf.nn.conv2d` correlates, so weights moved from
# > Theano-era Keras models to TensorFlow had to be flipped (Keras 1 shipped a
# > `convert_kernel` utility for exactly this). Today TensorFlow, PyTorch and JAX all
# > correlate; only signal-processing libraries such as `scipy.signal.convolve` flip.

# %% [markdown]
# ## 3 · Which input pixels feed which output neuron
#
# With window size $k$ and stride $s$ (VALID padding), output $i$ along an axis reads
# inputs $i s, \dots, i s + k - 1$ and there are $\lfloor (n - k)/s \rfloor + 1$
# outputs. With $s = k$ the windows tile the input (our dense-on-tiles layer);
# $s < k$ makes them overlap (each pixel feeds several outputs, a normal conv
# layer); $s > k$ leaves pixels that no output ever sees. The shading counts how many
# outputs read each pixel; the orange square is one output neuron's receptive field.


# %%
def show_receptive_field(size=TILE, stride=TILE, out_row=2, out_col=1):
    fig, ax = plt.subplots(figsize=(4.6, 5.5))
    counts = dense.plot_receptive_field(ax, IMAGE_HW, size, stride, (out_row, out_col))
    fig.colorbar(counts, ax=ax, label="outputs reading the pixel", shrink=0.8)
    plt.tight_layout()
    plt.show()


show_receptive_field()  # the lesson's layer: 5 × 3 non-overlapping tiles
assert (
    dense.coverage(IMAGE_HW, (TILE, TILE), (TILE, TILE)).min() == 1
)  # every pixel in exactly one tile


# %%
slider = dict(continuous_update=False)
# output row/col beyond the map are clipped to its last neuron
interact.show(
    show_receptive_field,
    size=widgets.IntSlider(value=TILE, min=1, max=40, description="window", **slider),
    stride=widgets.IntSlider(value=TILE, min=1, max=40, description="stride", **slider),
    out_row=widgets.IntSlider(
        value=2, min=0, max=IMAGE_HW[0] - 1, description="output row", **slider
    ),
    out_col=widgets.IntSlider(
        value=1, min=0, max=IMAGE_HW[1] - 1, description="output col", **slider
    ),
)


# %% [markdown]
# Try window 20 / stride 10 (each pixel feeds up to four outputs), window 3 /
# stride 1 (an ordinary conv layer), and window 10 / stride 15 (gaps).
#
# ### Exercise 1 · Which outputs see a pixel?
#
# The widget answers "which inputs feed output $i$?". Now the reverse: along one axis
# of length `n`, with window `size` and `stride`, which outputs read input position
# `r`? Return `(first, stop)` so that the outputs are `range(first, stop)`; return an
# empty range (`first == stop`) when no output sees `r`. Output $i$ reads $r$ when
# $i s \le r \le i s + k - 1$, and $i$ must be a valid output index.


# %%
def outputs_reading(r, n, size, stride):
    # BEGIN SOLUTION
    # HINT: output i reads positions i*stride … i*stride + size - 1; solve for i, then clip to the outputs
    n_outputs = 0 if n < size else (n - size) // stride + 1
    first = max(0, -(-(r - size + 1) // stride))
    stop = min(n_outputs, r // stride + 1)
    return (first, max(first, stop))
    # END SOLUTION


# %%
def brute_force_outputs(r, n, size, stride):
    readers = [
        i
        for i in range(core.output_size(n, size, stride))
        if r in range(*dense.receptive_field((i,), (size,), (stride,))[0].indices(n))
    ]
    return (readers[0], readers[-1] + 1) if readers else None


def compare_ranges(got, expected):
    if got is None or len(got) != 2:
        return f"expected a (first, stop) pair, got {got!r}"
    if expected is None:
        return (
            None
            if got[0] == got[1]
            else f"no output reads this pixel, but you returned range{tuple(got)}"
        )
    return None if tuple(got) == expected else f"expected range{expected}, got range{tuple(got)}"


# %%
exercise_cases = [
    checks.Case((r, n, k, s), brute_force_outputs(r, n, k, s))
    for r, n, k, s in [
        (0, 100, 20, 20),
        (39, 100, 20, 20),
        (25, 100, 20, 10),
        (5, 100, 3, 1),
        (0, 100, 3, 1),
        (99, 100, 3, 1),
        (12, 100, 10, 15),
        (97, 100, 10, 15),
        (7, 8, 5, 2),
    ]
]
checks.check_function(
    "outputs_reading",
    outputs_reading,
    exercise_cases,
    compare=compare_ranges,
    hint="output i reads positions i*stride … i*stride + size - 1",
)

# %% [markdown]
# ## 4 · Two special cases
#
# **A 1×1 convolution is a dense layer at every pixel.** With $k = 1$ the sum over
# $u, v$ disappears: $y_{hwf} = b_f + \sum_c x_{hwc} K_{00cf}$, the dense layer
# $x_{hw,:}\,W + b$ applied to each pixel's channel vector. (Keras' `Dense` on a 4-D
# input does exactly that: it contracts the last axis.)

# %%
x_small = rng.standard_normal((4, 9, 7, 32)).astype(np.float32)
dense_pp = layers.Dense(16)
dense_pp.build(x_small.shape)
conv_1x1 = layers.Conv2D(16, 1)
conv_1x1.build(x_small.shape)
w_pp, b_pp = dense_pp.get_weights()
conv_1x1.set_weights([dense.dense_to_conv_kernel(w_pp, (1, 1, 32)), b_pp])
err_1x1 = checks.assert_close("Dense on every pixel vs 1×1 Conv2D", conv_1x1(x_small), dense_pp(x_small), tol=1e-4)
checks.assert_close(
    "1×1 Conv2D vs np.einsum('nhwc,cf->nhwf')",
    conv_1x1(x_small),
    np.einsum("nhwc,cf->nhwf", x_small, w_pp) + b_pp,
    tol=1e-4,
)
report.record(NOTEBOOK, "1x1 conv vs per-pixel dense max abs diff", err_1x1, "")

# %% [markdown]
# **A dense layer on a flattened H×W×C input is a VALID convolution with an H×W
# kernel.** The kernel covers the whole input, so there is exactly one position and
# the output is 1×1×F. The difference shows on a *larger* input: the dense layer
# refuses it, the convolution slides and returns a map.

# %%
flat_dense = keras.Sequential([keras.Input((7, 7, 32)), layers.Flatten(), layers.Dense(10)])
w_fd, b_fd = flat_dense.layers[-1].get_weights()
as_conv = layers.Conv2D(10, 7, padding="valid")
as_conv.build((None, None, None, 32))
as_conv.set_weights([dense.dense_to_conv_kernel(w_fd, (7, 7, 32)), b_fd])
x77 = rng.standard_normal((4, 7, 7, 32)).astype(np.float32)
print("conv output on a 7×7 input:", as_conv(x77).shape)
err_flat = checks.assert_close(
    "Flatten + Dense vs 7×7 VALID Conv2D", as_conv(x77)[:, 0, 0], flat_dense(x77),
    tol=1e-4,
)
report.record(NOTEBOOK, "flatten dense vs HxW conv max abs diff", err_flat, "")
x99 = rng.standard_normal((1, 9, 9, 32)).astype(np.float32)
print("conv output on a 9×9 input:", as_conv(x99).shape, "(a 3×3 map of the dense layer's outputs)")
try:
    flat_dense(x99)
except ValueError as err:
    print("the dense version refuses it:", str(err).splitlines()[0][:110], "…")

# %% [markdown]
# ### Exercise 2 · Port a PyTorch-style dense layer
#
# A dense layer was trained on H×W×C patches that were flattened in **NCHW** order,
# so row $(c\cdot H + u)\cdot W + v$ of `weights` belongs to pixel $(u, v)$ of channel
# $c$. Return the TensorFlow kernel of shape `(H, W, C, F)` (HWIO) that computes the
# same thing.


# %%
def chw_dense_to_hwio(weights, h, w, c):
    # BEGIN SOLUTION
    # HINT: reshape to (c, h, w, F) first (the order the rows were written in), then move the channel axis to position 2
    return weights.reshape(c, h, w, weights.shape[1]).transpose(1, 2, 0, 3)
    # END SOLUTION


# %%
def port_case(h, w, c, f, seed):
    weights = np.random.default_rng(seed).standard_normal((h * w * c, f))
    return checks.Case(
        (weights, h, w, c),
        dense.dense_to_conv_kernel(weights, (h, w, c), "CHW"),
        label=f"a {h}×{w}×{c} patch, {f} outputs",
    )


checks.check_function(
    "chw_dense_to_hwio",
    chw_dense_to_hwio,
    [port_case(2, 3, 4, 5, 0), port_case(5, 5, 1, 2, 1), port_case(4, 2, 3, 1, 2)],
    hint="the rows run over c slowest, then u, then v",
)

# %% [markdown]
# ## 5 · A digit classifier that slides over a page
#
# Train a tiny convolutional classifier on 28×28 MNIST digits: two conv + pool
# stages produce a 5×5×32 feature map, then `Flatten → Dense(64) → Dense(10)`.

# %%
from dlcourse.data import load_mnist

(x_train, y_train), (x_test, y_test) = load_mnist()
if MNIST_TRAIN is not None:
    x_train, y_train = x_train[:MNIST_TRAIN], y_train[:MNIST_TRAIN]
classifier = keras.Sequential(
    [
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ]
)
classifier.compile(
    "adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
)
start = time.perf_counter()
classifier.fit(x_train, y_train, batch_size=128, epochs=MNIST_EPOCHS, verbose=2)
test_accuracy = classifier.evaluate(x_test, y_test, verbose=0)[1]
print(
    f"trained on {len(x_train):,} digits in {time.perf_counter() - start:.1f} s; test accuracy {test_accuracy:.3f}"
)
assert test_accuracy > 0.9
report.record(NOTEBOOK, "digit classifier test accuracy", test_accuracy, "")

# %% [markdown]
# Rewrite the head as convolutions: `Dense(64)` on the flattened 5×5×32 features
# becomes a 5×5 VALID `Conv2D(64)`, and `Dense(10)` on 64 numbers becomes a 1×1
# `Conv2D(10)`. The convolutional trunk is reused as it is, on an input whose height
# and width are left open.


# %%
def fully_convolutional(model):
    trunk, flatten, dense1, dense2 = (
        model.layers[:4],
        model.layers[4],
        model.layers[5],
        model.layers[6],
    )
    feature_shape = tuple(flatten.input.shape[1:])  # (5, 5, 32)
    head1 = layers.Conv2D(dense1.units, feature_shape[:2], activation="relu")
    head2 = layers.Conv2D(dense2.units, 1)
    inputs = keras.Input((None, None, 1))
    h = inputs
    for layer in trunk:
        h = layer(h)
    outputs = head2(head1(h))
    w1, b1 = dense1.get_weights()
    w2, b2 = dense2.get_weights()
    head1.set_weights([dense.dense_to_conv_kernel(w1, feature_shape), b1])
    head2.set_weights([dense.dense_to_conv_kernel(w2, (1, 1, dense1.units)), b2])
    return keras.Model(inputs, outputs)


sliding_classifier = fully_convolutional(classifier)
digits = x_test[:500]
# logits reach ±20, so float32 round-off is ~1e-5 here: allow 1e-3
err_fcn = checks.assert_close(
    "fully convolutional vs original classifier on 28×28 digits",
    sliding_classifier.predict(digits, verbose=0)[:, 0, 0],
    classifier.predict(digits, verbose=0),
    tol=1e-3,
)
report.record(NOTEBOOK, "fully convolutional vs dense head max abs diff", err_fcn, "")

# %% [markdown]
# Paste a few test digits onto a larger blank canvas (at positions on a 4-pixel grid)
# and run the fully convolutional model once. Two 2×2 poolings make its output
# stride 4: output $(i, j)$ is the classifier's verdict on the 28×28 window whose top
# left corner is $(4i, 4j)$. We check exactly that by cropping every window and
# running the *original* classifier on each crop.

# %%
canvas = np.zeros((*CANVAS_HW, 1), np.float32)
slots = [(r, c) for r in range(0, CANVAS_HW[0] - 27, 28) for c in range(0, CANVAS_HW[1] - 27, 24)]
chosen = np.random.default_rng(1).choice(len(slots), N_PASTED, replace=False)
pasted = []  # (row, col, true label); rows and columns are multiples of 4
for k, slot in enumerate(sorted(chosen)):
    r, c = slots[slot]
    canvas[r : r + 28, c : c + 28] = np.maximum(canvas[r : r + 28, c : c + 28], x_test[k])
    pasted.append((r, c, int(y_test[k])))

logit_map = sliding_classifier.predict(canvas[None], verbose=0)[0]
map_h, map_w = logit_map.shape[:2]
crops = np.stack(
    [canvas[4 * i : 4 * i + 28, 4 * j : 4 * j + 28] for i in range(map_h) for j in range(map_w)]
)
crop_logits = classifier.predict(crops, verbose=0).reshape(map_h, map_w, 10)
print(f"canvas {CANVAS_HW} → prediction map {map_h}×{map_w}; {len(crops)} crops checked")
err_map = checks.assert_close(
    "prediction map vs original classifier on every crop", logit_map, crop_logits, tol=1e-3
)
probs = tf.nn.softmax(logit_map).numpy()
hits = [int(probs[r // 4, c // 4].argmax() == label) for r, c, label in pasted]
print(f"at the {len(pasted)} pasted positions the map names {sum(hits)} digits correctly")

# %%
fig, axes = plt.subplots(2, 1, figsize=(11, 7), gridspec_kw=dict(height_ratios=[1, 1.1]))
axes[0].imshow(canvas[..., 0], cmap="gray_r")
for (r, c, label), hit in zip(pasted, hits, strict=True):
    axes[0].add_patch(
        plt.Rectangle((c - 0.5, r - 0.5), 28, 28, fill=False, ec="tab:green" if hit else "tab:red")
    )
    axes[0].text(
        c + 1,
        r + 1,
        f"{label} → {probs[r // 4, c // 4].argmax()}",
        color="tab:blue",
        fontsize=8,
        va="top",
    )
axes[0].set_title("canvas: true digit → map's prediction at its window (green box: right)")
axes[0].set_xlabel("canvas column")
axes[0].set_ylabel("canvas row")
im = axes[1].imshow(probs.max(-1), cmap="viridis", vmin=0, vmax=1, aspect="auto")
for i in range(map_h):
    for j in range(map_w):
        axes[1].text(
            j,
            i,
            str(probs[i, j].argmax()),
            fontsize=7,
            ha="center",
            va="center",
            color="black" if probs[i, j].max() > 0.6 else "white",
        )
axes[1].set_title(
    "prediction map: top class of the 28×28 window at (4i, 4j); colour = its probability"
)
axes[1].set_xlabel("map column j (window starts at canvas column 4j)")
axes[1].set_ylabel("map row i")
fig.colorbar(im, ax=axes[1], label="max softmax probability")
plt.tight_layout()
plt.show()

# %% [markdown]
# On blank canvas the ten logits are nearly equal (low confidence), but between two
# digits, or on half a digit, the classifier is often confident about *something*:
# it never saw "no digit" or "part of a digit". Detectors built this way (OverFeat, 2013, and
# the fully convolutional networks that followed) add a background class or an
# objectness score for that reason. The point here is the mechanics: one pass of
# the converted model gave exactly what sliding the original classifier over
# every window gives, while sharing all the overlapping work.

# %% [markdown]
# ## 6 · Many small matrix products: capsule predictions
#
# In a capsule network every one of 1152 input capsules (8-D vectors) predicts each
# of 10 output capsules (16-D) through its own 16×8 matrix:
#
# $$ \hat u_{b,i,j} = W_{ij}\, u_{b,i}, \qquad u \in \mathbb R^{B\times1152\times8},\;
#    W \in \mathbb R^{1152\times10\times16\times8}. $$
#
# With $B = 50$ that is 576 000 products of a 16×8 matrix with an 8-vector.
# Four ways to write it (see `dlcourse.dense`):
# * **tile + matmul**: copy $W$ fifty times and $u$ ten times so one batched
#   `matmul` can pair them: two tiled arrays (sizes printed below);
# * **broadcast multiply + sum**: `(W[None] * u[:, :, None, None, :]).sum(-1)`,
#   no tiles, but the full 50×1152×10×16×8 product array;
# * **broadcast matmul**: `np.matmul` broadcasts leading axes itself;
# * **einsum**: `np.einsum("ijkl,bil->bijk", W, u, optimize=True)`.
#
# The Q&A answer that suggested einsum for this wrote the output indices as `bilk`, for a
# result of shape (batch, 1152, 8, 16). That keeps the input dimension $l$ and sums over the
# output capsule $j$ instead: each entry is $\sum_j W_{ijkl}\,u_{bil}$, not a
# matrix-vector product at all. The course uses `bijk` (sum over $l$, keep $j$), the
# formula above; the next cell shows the two disagree and checks ours against a loop.

# %%
u_check, w_check = dense.random_capsules(batch=2)
ours = np.einsum("ijkl,bil->bijk", w_check, u_check)
answer = np.einsum("ijkl,bil->bilk", w_check, u_check)
i, j = 5, 3  # one input capsule, one output capsule: W_ij (16×8) times u_0i (8)
checks.assert_close("einsum 'bijk' vs one product W_ij u_i", ours[0, i, j], w_check[i, j] @ u_check[0, i],
            tol=1e-5)
print(f"ours: shape {ours.shape} (batch, input capsule, output capsule, output dim); "
      f"the answer's 'bilk': shape {answer.shape}, a different quantity")
assert answer.shape != ours.shape

# %%
u_caps, w_caps = dense.random_capsules(batch=CAPSULE_BATCH)
n_caps_in, n_caps_out = w_caps.shape[:2]
tiled_w_mb = CAPSULE_BATCH * w_caps.nbytes / 1e6  # W copied once per image
tiled_u_mb = n_caps_out * u_caps.nbytes / 1e6  # u copied once per output capsule
product_mb = CAPSULE_BATCH * w_caps.nbytes / 1e6  # one number per (b, i, j, row, column)
result_mb = CAPSULE_BATCH * n_caps_in * n_caps_out * w_caps.shape[2] * w_caps.itemsize / 1e6
print(
    f"{u_caps.dtype}: tiled W {tiled_w_mb:.1f} MB, tiled u {tiled_u_mb:.1f} MB, "
    f"broadcast product {product_mb:.1f} MB, result {result_mb:.1f} MB"
)

# %%
caps_seconds, caps_peak, caps_results = {}, {}, {}
for name, method in tqdm(dense.CAPSULE_METHODS.items(), desc="capsule methods"):
    caps_results[name], caps_peak[name] = dense.peak_memory(lambda m=method: m(u_caps, w_caps))
    caps_seconds[name] = timing.best_time(
        lambda m=method: m(u_caps, w_caps), repeat=TIMING_REPEAT, min_seconds=0
    )
# independent reference: the definition, one small product at a time, at random places
picks = rng.integers(0, [CAPSULE_BATCH, 1152, 10], size=(200, 3))
direct = np.stack([w_caps[i, j] @ u_caps[n, i] for n, i, j in picks])
for name, result in caps_results.items():
    checks.assert_close(
        f"{name:26s} vs W[i, j] @ u[b, i]",
        result[picks[:, 0], picks[:, 1], picks[:, 2]],
        direct,
        tol=1e-4,
    )
    checks.assert_close(f"{name:26s} vs einsum (all entries)", result, caps_results["einsum"], tol=1e-4)
einsum_speedup = caps_seconds["tile + matmul"] / caps_seconds["einsum"]
for name in dense.CAPSULE_METHODS:
    print(
        f"{name:26s} {caps_seconds[name] * 1e3:8.1f} ms  ×{caps_seconds['tile + matmul'] / caps_seconds[name]:5.1f}"
        f"  peak {caps_peak[name] / 1e6:7.1f} MB"
    )
report.record(NOTEBOOK, "capsule einsum speed-up over tile+matmul", einsum_speedup, "x")
report.record(
    NOTEBOOK,
    "capsule tile+matmul / einsum peak memory",
    caps_peak["tile + matmul"] / caps_peak["einsum"],
    "x",
)

# %% [markdown]
# The peak memory (measured with `tracemalloc`, which sees every NumPy buffer) agrees
# with what the shapes predict: the tiled and the broadcast-multiply versions must
# hold the large temporary printed above, the other two only the result.

# %%
predicted = dense.intermediate_nbytes(u_caps, w_caps)
for name in dense.CAPSULE_METHODS:
    checks.assert_close(f"{name:26s} peak vs the shapes' prediction",
                        caps_peak[name], predicted[name], tol=0.05, relative=True)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
names = list(dense.CAPSULE_METHODS)
axes[0].barh(names, [caps_seconds[n] * 1e3 for n in names], color="tab:blue")
axes[0].set_xlabel("milliseconds per call (best of repeats)")
axes[0].set_title(f"time, batch {CAPSULE_BATCH}")
axes[1].barh(names, [caps_peak[n] / 1e6 for n in names], color="tab:orange")
axes[1].set_xlabel("peak extra memory (MB, tracemalloc)")
axes[1].set_title("memory")
axes[1].set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# Timings on a shared CPU are noisy; compare the ratios, measured in one run.
# `python benchmarks/capsules.py --tf` repeats them and adds TensorFlow (on a GPU
# when there is one).
#
# > **Then and now.** The 2017 TensorFlow capsule tutorials used `tf.tile` + `tf.matmul`
# > because `tf.matmul` did not broadcast batch dimensions before TensorFlow 1.14
# > (`BatchMatMulV2`). Today `matmul` broadcasts in NumPy, TensorFlow and PyTorch, and
# > `einsum` states the whole contraction in one string. In NumPy pass
# > `optimize=True`: without it `np.einsum` runs a generic loop instead of BLAS.

# %% [markdown]
# ## 7 · A computed tensor as a convolution kernel
#
# Sometimes the kernel is not a trainable weight but the result of a computation:
# here a Gaussian blur whose width $\sigma$ is a variable,
# $k_{uv} \propto \exp\!\left(-\frac{u^2+v^2}{2\sigma^2}\right)$. The plain function
# `tf.nn.conv2d(x, kernel, strides, padding)` takes any tensor as kernel, and
# gradients flow back into whatever computed it.

# %%
image = x_test[:1]  # (1, 28, 28, 1)
sigma = tf.Variable(1.5)


def gaussian_kernel(sigma, radius=3):
    t = tf.range(-radius, radius + 1, dtype=tf.float32)
    g = tf.exp(-(t**2) / (2 * sigma**2))
    k2d = tf.tensordot(g, g, axes=0)
    return (k2d / tf.reduce_sum(k2d))[:, :, None, None]  # HWIO: (7, 7, 1, 1)


with tf.GradientTape() as tape:
    blurred = tf.nn.conv2d(image, gaussian_kernel(sigma), strides=1, padding="SAME")
    loss = tf.reduce_sum(blurred**2)
grad_sigma = float(tape.gradient(loss, sigma))
k_np = gaussian_kernel(sigma).numpy()[:, :, 0, 0]
err_blur = checks.assert_close(
    "tf.nn.conv2d (SAME) vs scipy.ndimage.correlate (zero padding)",
    blurred[0, ..., 0],
    scipy.ndimage.correlate(image[0, ..., 0], k_np, mode="constant"),
    tol=1e-5,
)


# finite-difference check of d loss / d sigma
def loss_at(s):
    return float(
        tf.reduce_sum(tf.nn.conv2d(image, gaussian_kernel(tf.constant(s)), 1, "SAME") ** 2)
    )


eps = 1e-2
fd = (loss_at(1.5 + eps) - loss_at(1.5 - eps)) / (2 * eps)
print(f"d loss / d sigma: GradientTape {grad_sigma:.4f}, central difference {fd:.4f}")
checks.assert_close("GradientTape vs central difference", grad_sigma, fd, tol=1e-2, relative=True)

# %% [markdown]
# A layer's `kernel_initializer` is a different thing: Keras **calls** it once, as
# `initializer(shape, dtype)`, when the layer is built, and stores the result in a new
# trainable variable. So it must be a callable (an `Initializer`, or a function of
# `shape` and `dtype`). Keras 3 wraps a bare tensor in such a function for you, but
# the tensor must then have exactly the kernel's shape, and anything else that is
# not callable is refused:

# %%
initializer_errors = {}
for label, bad in [
    ("a 7×7 tensor for a (7, 7, 1, 1) kernel", tf.constant(k_np)),
    ("a nested Python list", k_np.tolist()),
]:
    try:
        layers.Conv2D(1, 7, padding="same", use_bias=False, kernel_initializer=bad).build(
            (None, 28, 28, 1)
        )
    except (ValueError, TypeError) as err:
        initializer_errors[label] = err
        print(f"{label}:\n    {type(err).__name__}: {str(err)[:150]}")
assert len(initializer_errors) == 2, "both bad initializers should have been refused"

# %% [markdown]
# Even when it is accepted, an initializer only copies the value at build time. The
# layer's kernel does not follow $\sigma$ afterwards, and no gradient reaches
# $\sigma$ through it:

# %%
copied = layers.Conv2D(
    1, 7, padding="same", use_bias=False, kernel_initializer=gaussian_kernel(sigma)
)
with tf.GradientTape() as tape:
    loss_layer = tf.reduce_sum(copied(image) ** 2)
grad_through_layer = tape.gradient(loss_layer, sigma)
print("gradient reaching sigma through the layer:", grad_through_layer)
assert grad_through_layer is None
checks.assert_close(
    "layer built from the tensor vs tf.nn.conv2d, before sigma changes",
    copied(image),
    blurred,
    tol=1e-5,
)
sigma.assign(3.0)
stale = float(np.abs(copied(image) - tf.nn.conv2d(image, gaussian_kernel(sigma), 1, "SAME")).max())
print(f"after sigma = 3.0 the layer still blurs with sigma = 1.5: max |difference| = {stale:.3f}")
assert stale > 1e-2
sigma.assign(1.5)

# %% [markdown]
# **The fix** depends on what you want. For a *fixed* kernel computed once, give the
# layer a callable: `keras.initializers.Constant(value)` or
# `lambda shape, dtype=None: value` (and `trainable=False` if it must stay fixed).
# For a kernel that is *computed every step* (from $\sigma$, from another network),
# do not use a layer's own kernel at all: call `tf.nn.conv2d` (or `keras.ops.conv`)
# with the computed tensor, as above.

# %%
fixed = layers.Conv2D(
    1,
    7,
    padding="same",
    use_bias=False,
    trainable=False,
    kernel_initializer=keras.initializers.Constant(gaussian_kernel(sigma).numpy()),
)
err_init = checks.assert_close(
    "Conv2D with a Constant initializer vs tf.nn.conv2d", fixed(image), blurred, tol=1e-5
)
report.record(NOTEBOOK, "computed kernel conv2d vs scipy max abs diff", err_blur, "")

# %% [markdown]
# > **Then and now.** In TensorFlow 1.x, `tf.layers.conv2d(x, 1, 7, kernel_initializer=k)`
# > with a tensor `k` failed with `TypeError: 'Tensor' object is not callable`; the fix
# > was `tf.constant_initializer(value)` (which wanted a NumPy value, not a tensor) or
# > `tf.nn.conv2d(x, k, strides=[1, 1, 1, 1], padding="SAME")`. The idea is unchanged:
# > initializers are called once; computed kernels go through `tf.nn.conv2d`.

# %% [markdown]
# ## 8 · Sliding windows over a time series, without copying
#
# A series of 30 000 steps × 10 channels: noise, plus short bumps in channel 3 at
# random times. The label of step $t$ is 1 when a whole bump lies inside the last 100
# steps $t-99 \dots t$. A model that looks at windows of 100 steps can learn that,
# provided each window is paired with the label of its **last** step.

# %%
BUMP = 12
series_rng = np.random.default_rng(2)
series = series_rng.standard_normal((SERIES_STEPS, SERIES_CHANNELS)).astype(np.float32)
starts = np.flatnonzero(series_rng.random(SERIES_STEPS - BUMP) < 1 / 150)
for s in starts:
    series[s : s + BUMP, 3] += 4.0 * np.hanning(BUMP)
ends = np.zeros(SERIES_STEPS, int)
ends[starts + BUMP - 1] = 1  # step at which each bump is complete
recent_ends = np.convolve(ends, np.ones(WINDOW - BUMP + 1, int))[:SERIES_STEPS]  # ends in [t-88, t]
labels = (recent_ends > 0).astype(np.float32)
print(f"{len(starts)} bumps; {labels.mean():.0%} of steps have label 1")

# %% [markdown]
# `np.lib.stride_tricks.sliding_window_view` (wrapped in `dlcourse.dense.sliding_windows`) makes a
# 29 901 × 100 × 10 array that is only a new set of strides over the same buffer:
# consecutive windows start one time step apart, so window $i$ begins one row of the
# series (10 channels × the item size) after window $i-1$, and $i$ rows after window 0.
# The labels are the slice `labels[99:]`.

# %%
x_windows, y_windows = dense.windows_and_labels(series, labels, WINDOW)
print("windows", x_windows.shape, "strides", x_windows.strides, " labels", y_windows.shape)
print("shares memory with the series:", np.shares_memory(x_windows, series))
print(
    f"step between windows: {x_windows.strides[0]} bytes = {SERIES_CHANNELS} channels × "
    f"{series.itemsize} bytes ({series.dtype})"
)
assert x_windows.strides[0] == series.strides[0] == SERIES_CHANNELS * series.itemsize
some = rng.integers(0, len(x_windows), 50)
checks.assert_close(
    "view vs explicit slices series[i:i+100]",
    x_windows[some],
    np.stack([series[i : i + WINDOW] for i in some]),
    tol=1e-12,
)
checks.assert_close("labels vs labels[i + 99]", y_windows[some], labels[some + WINDOW - 1], tol=0)
checks.assert_close(
    "labels vs 'a whole bump inside the window'",
    y_windows[some],
    [any(i <= s and s + BUMP - 1 <= i + WINDOW - 1 for s in starts) for i in some],
    tol=0,
)
keras_ds = keras.utils.timeseries_dataset_from_array(
    series, labels[WINDOW - 1 :], sequence_length=WINDOW, batch_size=512, shuffle=False
)
kx, ky = next(iter(keras_ds))
checks.assert_close(
    "view vs keras.utils.timeseries_dataset_from_array (first 512 windows)",
    x_windows[:512],
    kx,
    tol=1e-12,
)
checks.assert_close("labels vs keras.utils.timeseries_dataset_from_array", y_windows[:512], ky,
                    tol=0)

# %% [markdown]
# Memory: the view's *logical* size (`nbytes`) is 100 times the series, but the
# memory it really holds is the series' buffer. Copying it (`np.ascontiguousarray`)
# allocates the full logical size, which `tracemalloc` measures.

# %%
copy, copy_peak = dense.peak_memory(lambda: np.ascontiguousarray(x_windows))
_, view_peak = dense.peak_memory(lambda: dense.sliding_windows(series, WINDOW))
print(f"series buffer            {series.nbytes / 1e6:8.2f} MB")
print(
    f"view: logical nbytes     {x_windows.nbytes / 1e6:8.2f} MB, really held {dense.buffer_nbytes(x_windows) / 1e6:.2f} MB, "
    f"allocated to make it {view_peak / 1e6:.3f} MB"
)
print(f"copy: allocated          {copy_peak / 1e6:8.2f} MB")
assert dense.buffer_nbytes(x_windows) == series.nbytes and view_peak < 1e5
checks.assert_close("copy's allocation vs the view's logical nbytes", copy_peak,
                    x_windows.nbytes, tol=0.01, relative=True)
report.record(NOTEBOOK, "window copy / view memory", copy_peak / dense.buffer_nbytes(x_windows), "x")
del copy


# %% [markdown]
# Train a small `Conv1D` model on the first 80 % of the windows and test on the last
# 20 % (later in time). `dense.batches` copies the batches out of the view one at a
# time, so the full copy measured above never exists. It is a generator that makes one
# pass over the windows, so each epoch is one call of `fit`, with its own shuffle; Keras
# cannot tell how long a generator is, so it is told how many batches to expect.

# %%
split = int(0.8 * len(x_windows))
train_x, train_y = x_windows[:split], y_windows[:split]
test_x, test_y = x_windows[split:], y_windows[split:]
batch_size = 256
window_model = keras.Sequential(
    [
        keras.Input((WINDOW, SERIES_CHANNELS)),
        layers.Conv1D(8, BUMP, activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ]
)
window_model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy", metrics=["accuracy"])
for epoch in range(SERIES_EPOCHS):
    window_history = window_model.fit(
        dense.batches(train_x, train_y, batch_size, seed=epoch),
        steps_per_epoch=-(-len(train_x) // batch_size), shuffle=False, verbose=0,
    )
    print(f"epoch {epoch + 1}/{SERIES_EPOCHS}: loss {window_history.history['loss'][-1]:.4f}, "
          f"accuracy {window_history.history['accuracy'][-1]:.3f}")
window_accuracy = window_model.evaluate(dense.batches(test_x, test_y, batch_size),
                                        steps=-(-len(test_x) // batch_size), verbose=0)[1]
baseline = max(test_y.mean(), 1 - test_y.mean())
print(
    f"Conv1D test accuracy {window_accuracy:.3f}, last training epoch "
    f"{window_history.history['accuracy'][-1]:.3f}  (always guessing the commoner label: "
    f"{baseline:.3f})"
)
assert window_accuracy > baseline + 0.1
report.record(NOTEBOOK, "Conv1D window classifier test accuracy", window_accuracy, "")

# %% [markdown]
# Compare the test accuracy with the last training epoch's (both printed above). A gap,
# when there is one, has a cause beyond chance: overlapping windows
# are not independent examples: each bump appears in 89 consecutive windows with
# the same noise around it, so the training split holds only about 150 distinct
# bumps, and a model can partly memorise their surroundings. Split train and test
# by time (as here), never by shuffling windows, or the test set would contain
# near-copies of training windows.
#
# What if the labels were aligned with the window's *first* step instead
# (`labels[:n_windows]`)? The label would then be about steps the window never
# shows, and the same trained model does little better than guessing:

# %%
misaligned = labels[split : split + len(test_x)]
pred = window_model.predict(test_x, batch_size=1024, verbose=0)[:, 0] > 0.5
misaligned_accuracy = float(np.mean(pred == misaligned))
print(
    f"accuracy against labels of the FIRST step: {misaligned_accuracy:.3f} (vs {window_accuracy:.3f} aligned)"
)
assert misaligned_accuracy < window_accuracy - 0.05

# %% [markdown]
# > **Then and now.** Older tutorials built windows with a Python loop
# > (`np.array([x[i:i+100] for i in range(n)])`, slow and 100× the memory) or with
# > `tf.contrib.signal.frame`. Today: `np.lib.stride_tricks.sliding_window_view`
# > for NumPy, `tf.signal.frame` in TensorFlow, and
# > `keras.utils.timeseries_dataset_from_array` for a ready `tf.data` pipeline.

# %% [markdown]
# ## Summary
#
# * A dense layer on flattened $k_h\times k_w\times C$ patches **is** a convolution with
#   an HWIO kernel `W.reshape(kh, kw, C, F)`: stride = tile size tiles the input, a
#   kernel as large as the input gives the plain dense layer, a 1×1 kernel is a dense
#   layer per pixel. `dlcourse.dense` converts both ways.
# * The reshape must unflatten in the order the patch was flattened (C order for
#   NHWC; reshape to C×H×W then transpose for NCHW), and true convolutions
#   (`scipy.signal.convolve`) need the kernel flipped along every sliding axis.
# * Rewriting a classifier's dense head as convolutions makes it slide over images of
#   any size in one pass, with exactly the outputs of running it on every crop.
# * Many small matrix products are one `einsum` (or a broadcasting `matmul`): no
#   tiled copies, here an order of magnitude less memory and faster.
# * Computed kernels go to `tf.nn.conv2d`; a layer's `kernel_initializer` is called
#   once to create a variable and must be a callable of `(shape, dtype)`.
# * Overlapping windows over a series are a strided view (no copy), with the label of
#   each window taken at its last step.

# %%
print(
    f"tile dense vs Conv2D: {err_tile_conv:.1e}; 1×1 conv: {err_1x1:.1e}; flatten-dense: {err_flat:.1e}; "
    f"fully convolutional head: {err_fcn:.1e}; sliding map vs crops: {err_map:.1e}"
)
print(
    f"capsules: einsum {einsum_speedup:.1f}× faster than tile + matmul, "
    f"{caps_peak['tile + matmul'] / caps_peak['einsum']:.1f}× less peak memory"
)

# %% [markdown]
# ## References
#
# - J. Long, E. Shelhamer, T. Darrell (2015). Fully convolutional networks for semantic segmentation. CVPR. [arXiv:1411.4038](https://arxiv.org/abs/1411.4038)
# - S. Sabour, N. Frosst, G. E. Hinton (2017). Dynamic routing between capsules. NeurIPS. [arXiv:1710.09829](https://arxiv.org/abs/1710.09829)
# - NumPy: [`numpy.lib.stride_tricks.sliding_window_view`](https://numpy.org/doc/stable/reference/generated/numpy.lib.stride_tricks.sliding_window_view.html) and [`numpy.einsum`](https://numpy.org/doc/stable/reference/generated/numpy.einsum.html).
