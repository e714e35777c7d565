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
# # 01 · Convolution arithmetic
#
# A convolution layer slides a small kernel over an image and takes a weighted sum at every
# stop. This lesson builds that operation three times, from a four-deep Python loop to one
# matrix product, checks every version against TensorFlow and SciPy, and measures how far apart
# they are in speed.
#
# **You will learn**
# - the difference between *cross-correlation* (what deep-learning "convolutions" compute) and
#   *convolution* (the kernel rotated by 180°), and how to get one from the other;
# - the output-size formula, and what TensorFlow's `VALID` and `SAME` padding really add;
# - how `im2col` turns every window into a row of a matrix *without copying*, using strides in
#   bytes, so that a whole convolution becomes one matrix product;
# - how float32 and float64 are handled, and why it matters;
# - how fast each version is, in seconds and in FLOP/s, against this machine's matrix product.
#
# **Time**: quick mode about a minute; full mode a few minutes (the naive loops are slow:
# that is the point).

# %%
import inspect
import os

import matplotlib.pyplot as plt
import numpy as np
import scipy.signal
from numpy.lib.stride_tricks import as_strided, sliding_window_view
from tqdm.auto import tqdm

from dlcourse import checks, config, conv, core, interact, report

NOTEBOOK = "01_convolution_arithmetic"

# %% tags=["parameters"]
QUICK = config.quick_mode()  # DLCOURSE_QUICK=1: quick mode (small sizes); 0 or unset: full
# Benchmark shapes: (a) a small first layer, (b) a ResNet-sized middle layer (smaller in quick mode).
CASE_A = dict(x=(100, 31, 31, 3), w=(3, 3, 3, 25), stride=2, padding=1)
CASE_B = (
    dict(x=(4, 28, 28, 32), w=(3, 3, 32, 32), stride=1, padding="SAME")
    if QUICK
    else dict(x=(16, 56, 56, 64), w=(3, 3, 64, 64), stride=1, padding="SAME")
)
NAIVE_ITEMS = 2 if QUICK else 10  # images the naive loops run on (time scaled to the batch)
SWEEP_SIZES = [8, 16, 32, 48] if QUICK else [8, 16, 32, 64, 96, 128]
SWEEP_NAIVE_MAX = 16 if QUICK else 64  # largest image the naive loops are timed on
REPEAT = 2 if QUICK else 5
ROUNDS = 3 if QUICK else 7  # interleaved rounds of the im2col / TF / matmul comparison

# %% [markdown]
# ## 1. Cross-correlation and convolution
#
# For an image $I$ and a $K\times K$ filter $F$, **cross-correlation** places the filter at
# $(x, y)$ and sums the products:
#
# $$C(x, y) = \sum_{a=0}^{K-1} \sum_{b=0}^{K-1} I(x+a,\, y+b)\, F(a, b).$$
#
# **Convolution**, as mathematicians (and `scipy.signal.convolve2d`, and Theano's `conv2d`)
# define it, runs the filter backwards:
#
# $$(I * F)(x, y) = \sum_{a} \sum_{b} I(x-a,\, y-b)\, F(a, b),$$
#
# which is the same as cross-correlating with the kernel rotated by 180°. TensorFlow's
# `conv2d`, Keras' `Conv2D` and PyTorch's `conv2d` all compute **cross-correlation**, and still
# call it convolution. For a learned filter the difference does not matter (the network learns
# the rotated filter instead), but it matters the moment you load weights from a library that
# flips, or compare with SciPy.
#
# Here is a 4×5 image (a bright block on a dark background, so it has a vertical edge) and a
# 3×3 Sobel filter, which responds to left–right changes in brightness. First by the formula:

# %%
image = np.ones((4, 5))
image[1:, 2:] = 9.0  # bright block from column 2 on: a vertical edge between columns 1 and 2
kernel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])  # a Sobel edge filter

by_formula = np.array(
    [[np.sum(image[x : x + 3, y : y + 3] * kernel) for y in range(3)] for x in range(2)]
)
scipy_corr = scipy.signal.correlate2d(image, kernel, mode="valid")
print(by_formula)
checks.assert_close("formula vs scipy.signal.correlate2d", by_formula, scipy_corr, tol=0)
assert by_formula[:, 0].min() < 0 and np.all(by_formula[:, -1] == 0)  # edge seen, flat part 0

# %% [markdown]
# Now TensorFlow's `conv2d` (a batch of one image with one channel, one filter) against SciPy's
# *convolution*. They disagree, until the kernel is rotated by 180° (`kernel[::-1, ::-1]`).

# %%
import tensorflow as tf


def tf_conv(img, ker):
    """tf.nn.conv2d on one single-channel image: (H, W) * (K, K) -> (H-K+1, W-K+1)."""
    return tf.nn.conv2d(img[None, :, :, None], ker[:, :, None, None], 1, "VALID")[
        0, :, :, 0
    ].numpy()


scipy_conv = scipy.signal.convolve2d(image, kernel, mode="valid")
checks.assert_close("tf.nn.conv2d vs scipy correlate2d", tf_conv(image, kernel), scipy_corr,
                    tol=1e-12)
unflipped = np.abs(tf_conv(image, kernel) - scipy_conv).max()
print(f"tf.nn.conv2d vs scipy convolve2d: max |difference| = {unflipped:.2e}  (wrong)")
assert unflipped > 1  # a real difference...
checks.assert_close("tf.nn.conv2d, flipped kernel, vs convolve2d",  # ...gone once flipped
                    tf_conv(image, kernel[::-1, ::-1]), scipy_conv, tol=1e-12)

# %% [markdown]
# The flip also shows on a real picture: a Sobel filter marks vertical edges with opposite
# signs under the two definitions.

# %%
from skimage import data as skdata

photo = skdata.camera()[::4, ::4].astype(np.float64) / 255
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
panels = [
    (photo, "input"),
    (tf_conv(photo, kernel), "tf.nn.conv2d (cross-correlation)"),
    (scipy.signal.convolve2d(photo, kernel, mode="valid"), "scipy convolve2d (flips)"),
]
for ax, (picture, title) in zip(axes, panels, strict=True):
    ax.imshow(picture, cmap="gray" if title == "input" else "RdBu")
    ax.set_title(title)
    ax.set_xlabel("column (pixels)")
    ax.set_ylabel("row (pixels)")
fig.suptitle("The same Sobel kernel: correlation vs convolution differ by a sign on edges")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Output size, padding and stride
#
# Along one axis, an input of $n$ positions padded with $p$ zeros on each side, a kernel of
# $k$ and a stride $s$ give
#
# $$n_\text{out} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1.$$
#
# TensorFlow names two choices instead of $p$:
# - **`VALID`**: no padding, $n_\text{out} = \lfloor (n-k)/s \rfloor + 1$;
# - **`SAME`**: pad just enough that $n_\text{out} = \lceil n / s \rceil$ (so at stride 1 the
#   output has the input's size). The total padding is $\max((n_\text{out}-1)s + k - n,\ 0)$
#   and, when it is odd, **the extra zero goes at the bottom/right**: SAME may pad unevenly.
#
# Worked example: a 64×64×3 input and 8 filters of 4×4×3 at stride 1. SAME gives 64×64×8;
# VALID gives 61×61×8 (64 − 4 + 1 = 61). With a 4×4 kernel SAME needs 3 zeros per axis:
# 1 before, 2 after. The Q&A answer this example comes from says SAME keeps 64×64, then
# illustrates it with a loop-based `conv_forward` called with `pad = 1` on each side, which
# gives 63×63: with an even kernel no *symmetric* padding keeps the size
# ($64 + 2 - 4 + 1 = 63$, $64 + 4 - 4 + 1 = 65$); only the uneven split does.

# %%
x64 = np.random.default_rng(0).standard_normal((1, 64, 64, 3)).astype(np.float32)
w8 = np.random.default_rng(1).standard_normal((4, 4, 3, 8)).astype(np.float32)
for padding in ("SAME", "VALID"):
    shape = tuple(tf.nn.conv2d(x64, w8, 1, padding).shape)
    print(
        f"{padding:<5}: tf.nn.conv2d gives {shape}; formula gives "
        f"{core.output_size(64, 4, 1, padding)} per axis"
    )
    assert shape == (1, *(2 * [core.output_size(64, 4, 1, padding)]), 8)
print("SAME padding for n=64, k=4, s=1 (before, after):", core.pad_amounts(64, 4, 1, "SAME"))
assert core.pad_amounts(64, 4, 1, "SAME") == (1, 2)
pad1 = tuple(tf.nn.conv2d(x64, w8, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]).shape)
print(f"pad=1 on each side: tf.nn.conv2d gives {pad1}, formula {core.output_size(64, 4, 1, 1)}")
assert pad1[1] == core.output_size(64, 4, 1, 1) == 63

# %% [markdown]
# Each output position is one **neuron**: it sees a $k \times k \times C$ window of the input
# (here 4·4·3 = 48 numbers) and has one output per filter. All neurons of the layer *share* the
# same 8 filters, so the layer has only $4\cdot4\cdot3\cdot8 + 8 = 392$ parameters however large
# the image; the **number of filters sets the output depth** (8 maps of 64×64 here).

# %% [markdown]
# ### Exercise 1: output size
# Write `output_size(n, k, stride, padding)` for `padding` equal to `"VALID"`, `"SAME"` or an
# int $p$ (that many zeros on each side). The check compares your answers with the shapes
# TensorFlow itself produces.


# %%
def output_size(n, k, stride, padding):
    # BEGIN SOLUTION
    # HINT: SAME gives ceil(n / stride); otherwise floor((n + 2p - k) / stride) + 1 (p = 0 for VALID)
    if padding == "SAME":
        return -(-n // stride)
    p = 0 if padding == "VALID" else padding
    return (n + 2 * p - k) // stride + 1
    # END SOLUTION


# %%
def tf_output_size(n, k, stride, padding):
    """The output height TensorFlow produces: an independent reference for the check."""
    tf_pad = padding if isinstance(padding, str) else [[0, 0], [padding, padding], [0, 0], [0, 0]]
    return int(
        tf.nn.conv2d(
            np.zeros((1, n, 1, 1), np.float32),
            np.zeros((k, 1, 1, 1), np.float32),
            (stride, 1),
            tf_pad,
        ).shape[1]
    )


cases = [
    checks.Case((n, k, s, p), tf_output_size(n, k, s, p))
    for n, k, s, p in [
        (64, 4, 1, "SAME"),
        (64, 4, 1, "VALID"),
        (31, 3, 2, 1),
        (7, 3, 2, "SAME"),
        (10, 4, 3, "VALID"),
        (10, 4, 3, "SAME"),
        (5, 5, 1, 2),
        (28, 5, 2, 0),
    ]
]
checks.check_function(
    "output_size",
    output_size,
    cases,
    hint="SAME: ceil(n / s); VALID or int p: floor((n + 2p - k) / s) + 1",
)

# %% [markdown]
# ### Watch the window slide
# Move the sliders: the red square is the window that feeds the highlighted output neuron.
# Notice how SAME pads unevenly (an even kernel, or a stride that does not divide the input), how
# a stride larger than the kernel skips pixels, and when an output position disappears.


# %%
def show_window(n=7, k=3, stride=2, padding="SAME", position=0):
    try:
        fig = conv.draw_sliding_window(n, k, stride, padding, position)
    except ValueError as err:  # e.g. a kernel larger than the padded input
        print("no output:", err)
        return
    plt.show()
    plt.close(fig)


show_window(n=6, k=4, stride=1, padding="SAME", position=0)  # uneven: 1 zero before, 2 after
interact.show(
    show_window,
    n=(3, 12),
    k=(1, 7),
    stride=(1, 4),
    padding=["SAME", "VALID", 0, 1, 2],
    position=(0, 143),
)

# %% [markdown]
# ## 3. Three implementations
#
# All three take NHWC images `x` of shape (N, H, W, C) and HWIO kernels `w` of shape
# (kh, kw, C, O), TensorFlow's layouts, and live in `dlcourse.conv`. The **naive** one is the
# formula as written: four Python loops (batch, filter, output row, output column), with the
# product-sum of each window done by NumPy.

# %%
print(inspect.getsource(conv.forward_naive))

# %% [markdown]
# The **vectorized** one keeps the loops over output positions only: at each position, one
# `tensordot` multiplies the windows of the whole batch by all filters at once.

# %%
print(inspect.getsource(conv.forward_vectorized))

# %% [markdown]
# ## 4. im2col: every window as a row, without copying
#
# A NumPy array is a block of memory plus **strides**: how many *bytes* to jump to move one step
# along each axis. Our 4×5 float64 image has strides (40, 8): 8 bytes to the next column, 5·8 = 40
# to the next row. The 3×3 windows of a VALID, stride-1 pass form a 2×3 grid. Window $(i, j)$
# starts at element $(i, j)$, so stepping to the next window is the same jump as stepping to the
# next pixel, and inside a window we again step by pixels. A **view** of shape (2, 3, 3, 3) with
# strides (40, 8, 40, 8) therefore *is* the set of all windows, and it costs no memory.

# %%
print("image strides (bytes):", image.strides)
rows, cols_ = image.strides
windows = as_strided(image, shape=(2, 3, 3, 3), strides=(rows, cols_, rows, cols_), writeable=False)
print("window (1, 2):\n", windows[1, 2])
print("shares memory with the image:", np.shares_memory(windows, image))
assert np.array_equal(windows, sliding_window_view(image, (3, 3)))  # NumPy's safe wrapper agrees
assert np.array_equal(windows[1, 2], image[1:4, 2:5])

# %% [markdown]
# With stride $s$, the window grid steps $s$ pixels: strides $(s\cdot40,\ s\cdot8,\ 40,\ 8)$.
# In NHWC the same idea gives `conv.im2col(x, k, stride, padding)`: a view of shape
# (N, OH, OW, kh, kw, C). Reshaping it to a matrix of (N·OH·OW) rows and (kh·kw·C) columns is the
# *im2col matrix*; that reshape is the one copy. Multiply it by the kernel reshaped to
# (kh·kw·C, O), and the convolution is **one matrix product**, which BLAS runs at near the
# machine's peak:
#
# $$\underbrace{\text{out}}_{(N\cdot OH\cdot OW)\times O} = \underbrace{\text{cols}}_{(N\cdot OH\cdot OW)\times (k_h k_w C)} \cdot \underbrace{W}_{(k_h k_w C)\times O}.$$

# %%
x_small = np.arange(2 * 5 * 6 * 3, dtype=np.float32).reshape(2, 5, 6, 3)
view = conv.im2col(x_small, 3, stride=2, padding="VALID")
print("x strides:", x_small.strides, "-> window view strides:", view.strides, "shape:", view.shape)
assert np.shares_memory(view, x_small)
print(inspect.getsource(conv.forward_im2col))

# %% [markdown]
# The package works through the matrix in blocks of a few MB (so the copy stays in cache and no
# huge matrix is allocated per call); the arithmetic is the same.
#
# ### Exercise 2: one im2col
# Write `im2col_2d(image, k, stride)` for a single-channel 2-D image (VALID padding): return the
# matrix whose row $r$ is the window at output position $r$ (row-major order) flattened, of shape
# (OH·OW, k·k). Use `as_strided` or `sliding_window_view`, no loop over positions.


# %%
def im2col_2d(image, k, stride):
    # BEGIN SOLUTION
    # HINT: sliding_window_view(image, (k, k))[::stride, ::stride] has shape (OH, OW, k, k); reshape it
    view = sliding_window_view(image, (k, k))[::stride, ::stride]
    return view.reshape(-1, k * k)
    # END SOLUTION


# %%
def im2col_by_loops(img, k, stride):
    """Reference: the windows one by one, the slow obvious way."""
    oh, ow = (img.shape[0] - k) // stride + 1, (img.shape[1] - k) // stride + 1
    return np.array(
        [
            img[i * stride : i * stride + k, j * stride : j * stride + k].ravel()
            for i in range(oh)
            for j in range(ow)
        ]
    )


rng = np.random.default_rng(3)
cases = [
    checks.Case((img, k, s), im2col_by_loops(img, k, s))
    for img, k, s in [
        (np.arange(20.0).reshape(4, 5), 3, 1),
        (rng.standard_normal((7, 9)), 3, 2),
        (rng.standard_normal((8, 8)), 2, 3),
        (rng.standard_normal((5, 6)), 5, 1),
    ]
]
checks.check_function(
    "im2col_2d",
    im2col_2d,
    cases,
    hint="sliding_window_view(image, (k, k))[::stride, ::stride], then reshape",
)

# %% [markdown]
# ## 5. All three agree with TensorFlow
#
# A random batch with several channels, each stride from 1 to 3 and each padding, in float32
# and float64: every method against `tf.nn.conv2d`. For each type and method we print the
# largest difference over the nine cases, relative to the largest output value.

# %%
rng = np.random.default_rng(4)
for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
    cases = []
    for stride in (1, 2, 3):
        for padding in ("VALID", "SAME", 1):
            x = rng.standard_normal((3, 11, 9, 4)).astype(dtype)
            w = rng.standard_normal((3, 2, 4, 5)).astype(dtype)
            cases.append((x, w, stride, padding))
    reference = [tf.nn.conv2d(x, w, s, conv.tf_padding(p)).numpy() for x, w, s, p in cases]
    for method in conv.METHODS:
        ours = [conv.conv2d(x, w, stride=s, padding=p, method=method) for x, w, s, p in cases]
        assert all(o.dtype == dtype and o.shape == r.shape
                   for o, r in zip(ours, reference, strict=True))
        checks.assert_close(f"{dtype.__name__} {method:10s} vs tf.nn.conv2d",
                            np.concatenate([o.ravel() for o in ours]),
                            np.concatenate([r.ravel() for r in reference]), tol=tol, relative=True)

# %% [markdown]
# ## 6. Data types: float32, float64, and an old pitfall
#
# **Then and now.** The NumPy notebook these lessons grew from has one TensorFlow cell (an old
# TensorFlow under Python 2.7): a VALID `tf.nn.conv2d` of two float64 `tf.Variable`s, run in a
# `tf.Session` after `tf.initialize_all_variables()`. It failed with *"No OpKernel was
# registered to support Op 'Conv2D' with these attrs"*: that TensorFlow had no float64
# convolution kernel for the device it ran on. In the style of that time (a sketch, not the
# source's code):
#
# ```python
# x = tf.Variable(images_float64)                             # TF 0.x / 1.x
# y = tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="VALID")
# with tf.Session() as sess:
#     sess.run(tf.initialize_all_variables())
#     out = sess.run(y)                                       # the error appeared here
# ```
#
# Today TensorFlow 2 runs eagerly, `tf.nn.conv2d(x, w, 1, "SAME")` returns the result directly,
# and float64 works on the CPU. What still bites is *mixing* types, and each library reacts
# differently:
# - TensorFlow **tensors** of different types are refused (`InvalidArgumentError`);
# - TensorFlow given **NumPy arrays** silently converts the kernel to the image's type, so a
#   float64 kernel applied to a float32 image is quietly rounded to float32;
# - NumPy (and `dlcourse.conv`) silently **promotes** to float64: more precise (not exact), but
#   twice the memory and roughly half the speed. `dlcourse.conv` refuses integers and float16 with a message saying
#   what to do.
#
# The safe habit: cast explicitly, once, where the data enters.

# %%
x32 = rng.standard_normal((2, 16, 16, 3)).astype(np.float32)
w32 = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
w64 = w32.astype(np.float64)
print("float64 on the CPU works today:", tf.nn.conv2d(x32.astype(np.float64), w64, 1, "SAME").dtype)
try:
    tf.nn.conv2d(tf.constant(x32), tf.constant(w64), 1, "SAME")
    raise AssertionError("TensorFlow accepted tensors of mixed dtypes")
except tf.errors.InvalidArgumentError as err:
    print(
        "TensorFlow, float32 tensor with float64 tensor -> InvalidArgumentError:",
        str(err).split(" [Op")[0][:90],
    )
mixed_tf = tf.nn.conv2d(x32, w64, 1, "SAME")
print(
    "TensorFlow, float32 array with float64 array ->", mixed_tf.dtype, "(kernel silently cast down)"
)
assert mixed_tf.dtype == tf.float32
mixed_ours = conv.conv2d(x32, w64, padding="SAME")
print("dlcourse.conv, the same mix ->", mixed_ours.dtype, "(promoted)")
assert mixed_ours.dtype == np.float64
try:
    conv.conv2d(x32.astype(np.int64), w32)
    raise AssertionError("integers were accepted")
except TypeError as err:
    print("dlcourse.conv, integer image -> TypeError:", err)
print("explicit cast ->", conv.conv2d(x32.astype(np.int64).astype(np.float32), w32).dtype)

# %% [markdown]
# How much precision does float32 lose? float32 keeps 24 bits of mantissa (unit roundoff
# $u \approx 6\times10^{-8}$), float64 53 bits ($u \approx 1.1\times10^{-16}$). The cell measures
# each against float64 naive loops (itself rounded, so float64's error is small but not 0).
# float32's is plenty for training a network; not enough for finite-difference gradient checks
# (lesson 02), which is why those run in float64.

# %%
x64_, w64_ = x32.astype(np.float64), w32.astype(np.float64)
exact = conv.conv2d(x64_, w64_, method="naive")
for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
    got = conv.conv2d(x32.astype(dtype), w32.astype(dtype))
    checks.assert_close(f"{dtype.__name__} vs float64 naive loops", got, exact,
                        tol=tol, relative=True)

# %% [markdown]
# ## 7. How fast? naive vs vectorized vs im2col vs TensorFlow
#
# Two layers, forward and backward (the backward pass is lesson 02's subject; here we only time
# it): (a) 100 images of 31×31×3, 25 filters of 3×3, stride 2, padding 1; (b) a middle layer,
# 3×3 kernels from 64 to 64 channels on 56×56 maps (smaller in quick mode). Every timed result
# is also compared with TensorFlow's. The naive loops run on the first few images (and, for (b),
# 8 of the filters) only, and their time is scaled up: their two outer loops run over images and
# filters, so the time grows linearly with both.
# TensorFlow runs on the CPU, like NumPy. Timings are the best of several runs; on a shared
# machine compare ratios, not absolute times. `benchmarks/conv.py` runs the full-size version.
#
# A warning about busy machines: NumPy's matrix product (OpenBLAS) splits work over all cores
# and then *waits* for every thread. When other programs hold the cores, those waits stretch to
# whole scheduler time slices and a 0.2 ms product can take 10 ms; TensorFlow's thread pool
# copes better. If the load printed below exceeds the core count, distrust the NumPy numbers
# and rerun later, or run `benchmarks/conv.py`, which gives both libraries one thread each and
# measures CPU time, so that other programs on the machine barely move its ratios.

# %%
load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
print(
    f"load average {load:.1f} on {os.cpu_count()} cores"
    + ("  -> busy machine: timings below are distorted" if load > (os.cpu_count() or 1) else "")
)


def benchmark(spec, naive_items, naive_filters):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(spec["x"]).astype(np.float32)
    w = (rng.standard_normal(spec["w"]) / np.sqrt(np.prod(spec["w"][:3]))).astype(np.float32)
    rows = conv.time_conv(
        x,
        w,
        spec["stride"],
        spec["padding"],
        directions=("forward", "backward"),
        naive_items=naive_items,
        naive_filters=naive_filters,
        repeat=REPEAT,
    )
    assert max(r.max_error for r in rows) < 1e-4, "a method disagrees with TensorFlow"
    return {(r.method, r.direction): r for r in rows}, conv.conv2d_flops(
        x.shape, w.shape, spec["stride"], spec["padding"]
    )


results = {}
for name, spec in tqdm(list({"a": CASE_A, "b": CASE_B}.items()), desc="benchmark cases"):
    results[name] = benchmark(spec, NAIVE_ITEMS if name == "a" else 1, None if name == "a" else 8)

# %%
print(
    f"{'case':<5}{'method':<12}{'forward ms':>12}{'backward ms':>13}{'GFLOP/s fwd':>13}{'rel err':>10}"
)
for name, (t, flops) in results.items():
    for method in conv.TIMED_METHODS:
        f, b = t[method, "forward"], t[method, "backward"]
        note = f"  naive: {f.describe_scaling()}" if f.scaled else ""
        print(
            f"{name:<5}{method:<12}{f.seconds * 1e3:12.3f}{b.seconds * 1e3:13.3f}"
            f"{flops / f.seconds / 1e9:13.2f}{max(f.max_error, b.max_error):10.1e}{note}"
        )

t_a, t_b = results["a"][0], results["b"][0]
naive_over_im2col = t_a["naive", "forward"].seconds / t_a["im2col", "forward"].seconds
naive_over_im2col_bwd = t_a["naive", "backward"].seconds / t_a["im2col", "backward"].seconds
print(
    f"\n(a) naive / im2col: forward {naive_over_im2col:.0f}x, backward {naive_over_im2col_bwd:.0f}x"
)

# %% [markdown]
# ### im2col against TensorFlow and against the machine's matrix product
# One timing per method is at the mercy of whatever else the machine does at that moment. For
# the headline ratios on layer (b), `conv.compare_with_tf` (shared with `benchmarks/conv.py`)
# times im2col, `tf.nn.conv2d` and `np.matmul` in **interleaved rounds**: every round runs each
# contender once, in a rotating order, and each ratio is taken within a round; we report the
# median and the range over the rounds.
#
# A convolution does $2\,k_h k_w C\,O$ floating-point operations per output position (a multiply
# and an add per weight). Divide by the time and compare with `np.matmul` on the very shapes
# im2col multiplies, $(N\,OH\,OW) \times (k_h k_w C)$ by $(k_h k_w C) \times O$, and on a square
# product; the gap to the faster of the two is the price of building the im2col matrix. (im2col
# can even beat the same-shape product: it multiplies block by block, each block small enough to
# stay in the core's cache, while the single big product streams its matrix from memory.)

# %%
spec = CASE_B
rng = np.random.default_rng(0)
x_b = rng.standard_normal(spec["x"]).astype(np.float32)
w_b = (rng.standard_normal(spec["w"]) / np.sqrt(np.prod(spec["w"][:3]))).astype(np.float32)
compared = conv.compare_with_tf(
    x_b, w_b, spec["stride"], spec["padding"], rounds=ROUNDS, square=512 if QUICK else 1024
)
assert compared["max_error"] < 1e-4
a_shape, b_shape = compared["matmul_shapes"]
print(f"im2col's product: {a_shape} @ {b_shape}")
for name, rate in compared["gflops"].items():
    print(f"  {name:<22}{rate:8.1f} GFLOP/s (median)")
for name, r in compared["ratios"].items():
    print(f"  {name:<22}{r}")
im2col_over_tf = compared["ratios"]["im2col/tf forward"].median
im2col_over_tf_bwd = compared["ratios"]["im2col/tf backward"].median
im2col_over_matmul = compared["ratios"]["im2col/matmul GFLOP/s"].median
im2col_gflops = compared["gflops"]["im2col forward"]

flops_b = results["b"][1]
fig, ax = plt.subplots(figsize=(7, 3.5))
labels = ["naive", "vectorized", *compared["gflops"]]
values = [flops_b / t_b[m, "forward"].seconds / 1e9 for m in ("naive", "vectorized")]
values += list(compared["gflops"].values())
ax.barh(labels, values, color=["0.6", "0.6"] + ["tab:red", "tab:blue"] * 2 + ["tab:green"] * 2)
ax.set_xscale("log")
ax.set_xlabel("GFLOP/s (log scale; backward counts 2× the forward FLOPs)")
ax.set_title(f"FLOP rate on layer (b) {spec['x']} * {spec['w']}")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Time against image size
# The same layer shape (8 images, 3×3 kernels, 16 → 16 channels, SAME) on growing images. All
# curves grow with the number of pixels; the gap between the naive loops and the rest (printed
# below the table, as measured on this run) is the cost of running the arithmetic in the
# Python interpreter.

# %%
sweep = {m: [] for m in conv.TIMED_METHODS}
for size in tqdm(SWEEP_SIZES, desc="image sizes"):
    rng = np.random.default_rng(size)
    x = rng.standard_normal((8, size, size, 16)).astype(np.float32)
    w = rng.standard_normal((3, 3, 16, 16)).astype(np.float32) / 12
    methods = conv.TIMED_METHODS if size <= SWEEP_NAIVE_MAX else conv.TIMED_METHODS[1:]
    rows = conv.time_conv(x, w, 1, "SAME", methods=methods, naive_items=1, repeat=REPEAT)
    assert max(r.max_error for r in rows) < 1e-4
    for r in rows:
        sweep[r.method].append((size, r.seconds))

print(
    f"{'size':>6}" + "".join(f"{m:>14}" for m in conv.TIMED_METHODS) + "   (seconds per batch of 8)"
)
for size in SWEEP_SIZES:
    cells = [dict(sweep[m]).get(size) for m in conv.TIMED_METHODS]
    print(f"{size:>6}" + "".join(f"{c:14.2e}" if c is not None else f"{'-':>14}" for c in cells))
naive_gap = [
    t / min(dict(sweep[m])[size] for m in conv.TIMED_METHODS[1:])
    for size, t in sweep[conv.TIMED_METHODS[0]]
]
print(
    f"{conv.TIMED_METHODS[0]} is {min(naive_gap):.0f}x to {max(naive_gap):.0f}x slower than the "
    f"fastest other method on the sizes where it was timed"
)
assert min(naive_gap) > 10

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for method, points in sweep.items():
    sizes, seconds = zip(*points, strict=True)
    ax.loglog(sizes, seconds, "o-", label=method)
ax.set_xticks(SWEEP_SIZES, [str(size) for size in SWEEP_SIZES])
ax.minorticks_off()
ax.set_xlabel("image height = width (pixels)")
ax.set_ylabel("seconds per forward pass (batch 8)")
ax.set_title("conv2d 3×3, 16→16 channels: time against image size")
ax.legend()
ax.grid(True, which="both", alpha=0.3)
plt.show()

# %% [markdown]
# ### Record the headline numbers

# %%
report.record(NOTEBOOK, "naive_over_im2col_forward (a)", naive_over_im2col, "x")
report.record(NOTEBOOK, "naive_over_im2col_backward (a)", naive_over_im2col_bwd, "x")
report.record(NOTEBOOK, "im2col_over_tf_forward (b)", im2col_over_tf, "x")
report.record(NOTEBOOK, "im2col_over_tf_backward (b)", im2col_over_tf_bwd, "x")
report.record(NOTEBOOK, "im2col_gflops_over_matmul_gflops (b)", im2col_over_matmul, "fraction")
report.record(NOTEBOOK, "im2col_gflops (b)", im2col_gflops, "GFLOP/s")

# %% [markdown]
# ## Summary
#
# - Deep-learning "convolution" is cross-correlation; rotate the kernel by 180° to get SciPy's
#   (and Theano's) convolution. Checked above against `scipy.signal` and `tf.nn.conv2d`.
# - Output size is $\lfloor (n + 2p - k)/s \rfloor + 1$; `SAME` gives $\lceil n/s \rceil$ and
#   puts the odd zero at the bottom/right.
# - Strides in bytes let one `as_strided` view hold every window without copying; flattening
#   that view (im2col) turns the convolution into one matrix product.
# - Float64 works everywhere today; mixing float32 and float64 is refused by TensorFlow and
#   silently promoted by NumPy, so cast explicitly.
# - The measured speed-ups of this run are printed above and recorded in the course results;
#   `benchmarks/conv.py` measures the full-size layers (see its `--json` output). The next lesson
#   runs the convolution backwards and trains a small CNN with it.

# %%
print(
    f"This run: naive/im2col {naive_over_im2col:.0f}x (forward, a), im2col/TF {im2col_over_tf:.2f} "
    f"(forward, b), im2col at {im2col_over_matmul:.0%} of the matmul FLOP rate."
)

# %% [markdown]
# ## References
#
# - V. Dumoulin, F. Visin (2016). A guide to convolution arithmetic for deep learning. [arXiv:1603.07285](https://arxiv.org/abs/1603.07285)
# - Stanford CS231n. Convolutional Neural Networks for Visual Recognition, course notes: [Convolutional Networks](https://cs231n.github.io/convolutional-networks/) (im2col, output sizes).
# - TensorFlow API: [`tf.nn.conv2d`](https://www.tensorflow.org/api_docs/python/tf/nn/conv2d).
