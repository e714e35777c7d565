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
# # 02 · Backpropagation through a convolution, from scratch
#
# Lesson 01 built the forward pass of a convolution. Training needs the backward pass: how
# the loss changes when each input pixel, each kernel weight and each bias changes. This
# lesson derives it, checks it three independent ways, and then trains a small
# convolutional network written in NumPy alone on MNIST.
#
# **You will learn**
# - why the input gradient of a convolution is a *full* convolution of the upstream
#   gradient with the 180°-rotated kernel, the kernel gradient is a correlation of the input
#   with the upstream gradient, and the bias gradient is a plain sum;
# - how to check any gradient with central finite differences, and why the step ε must be
#   neither too large nor too small (and why that check needs float64);
# - how to assemble conv → ReLU → conv → ReLU → flatten → dense → softmax cross-entropy from
#   layers with hand-written backward passes, check every layer, and train it on MNIST
#   (full mode: at least 97% test accuracy on the standard 60,000 / 10,000 split);
# - how backprop through a two-layer ReLU network looks by hand, next to `tf.GradientTape`.
#
# **Time**: quick mode about a minute on 2 CPU cores (a 3,000-image subset, one epoch);
# full mode: 3 epochs over the 60,000 training images; section 4 prints the time per image
# measured on your machine and the full-mode estimate it implies (longer when the cores are
# busy). The NumPy network does not use a GPU.

# %%
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize
import scipy.signal

from dlcourse import checks, config, conv, core, interact, nets, report
from dlcourse.nets import gradcheck, layers

NOTEBOOK = "02_convolution_backprop"

# %% tags=["parameters"]
QUICK = config.quick_mode()  # DLCOURSE_QUICK=1: quick mode (small sizes); 0 or unset: full
N_TRAIN = 3_000 if QUICK else None  # None: every training image
N_TEST = 1_000 if QUICK else None  # None: every test image
EPOCHS = 1 if QUICK else 3
BATCH_SIZE = 32 if QUICK else 64
LEARNING_RATE = 1e-3  # Adam
SEED = 0

# %% [markdown]
# ## 1. The gradient of a convolution layer
#
# Take one image and one channel first. With a $k\times k$ kernel $w$, stride 1 and no
# padding ('VALID'), the layer computes the cross-correlation
#
# $$y_{ij} = b + \sum_{a=0}^{k-1}\sum_{c=0}^{k-1} x_{i+a,\,j+c}\; w_{ac}.$$
#
# Backpropagation hands us $g_{ij} = \partial L/\partial y_{ij}$, the *upstream gradient*,
# one number per output. The chain rule gives the three gradients we need:
#
# - **bias**: every output contains $b$ once, so $\dfrac{\partial L}{\partial b} = \sum_{ij} g_{ij}$.
# - **kernel**: $w_{ac}$ meets input $x_{i+a,j+c}$ at output $(i,j)$, so
#   $\dfrac{\partial L}{\partial w_{ac}} = \sum_{ij} g_{ij}\, x_{i+a,\,j+c}$,
#   a cross-correlation of the **input** with the **upstream gradient** (the gradient plays
#   the role of the kernel).
# - **input**: pixel $x_{pq}$ is seen by every output $(i,j)=(p-a,\,q-c)$ whose window covers it, so
#   $\dfrac{\partial L}{\partial x_{pq}} = \sum_{a,c} g_{p-a,\,q-c}\; w_{ac}$,
#   with $g$ taken as zero outside its range. The indices run *backwards*: that is a true
#   convolution of $g$ with $w$, or equivalently a cross-correlation of $g$, padded with
#   $k-1$ zeros on every side (a **full** convolution), with the kernel **rotated by 180°**.
#
# With channels, $w_{ac\,io}$ connects input channel $i$ to output channel $o$: the kernel
# gradient gets one correlation per $(i, o)$ pair, and the input gradient of channel $i$ sums the
# full convolutions over output channels $o$. Over a batch, kernel and bias gradients also sum
# over images.
#
# SciPy's `correlate2d` and `convolve2d` (which flips the kernel, lesson 01) turn these
# formulas into one line each. We compare them with the package's `conv2d_backward`.

# %%
rng = np.random.default_rng(SEED)
x1 = rng.standard_normal((6, 7))  # one image, one channel
w1 = rng.standard_normal((3, 3))
g1 = rng.standard_normal((4, 5))  # upstream gradient, the shape of the VALID output

dx_scipy = scipy.signal.correlate2d(np.pad(g1, 2), np.rot90(w1, 2), mode="valid")
dx_convolve = scipy.signal.convolve2d(g1, w1, mode="full")  # the same thing
dw_scipy = scipy.signal.correlate2d(x1, g1, mode="valid")
db_scipy = g1.sum()

dx_pkg, dw_pkg, db_pkg = conv.conv2d_backward(
    g1[None, :, :, None], x1[None, :, :, None], w1[:, :, None, None]
)
for name, ours, ref in [
    ("dx (full conv, rotated kernel)", dx_pkg[0, :, :, 0], dx_scipy),
    ("dx (scipy convolve2d, full)", dx_pkg[0, :, :, 0], dx_convolve),
    ("dw (input ⋆ upstream grad)", dw_pkg[:, :, 0, 0], dw_scipy),
    ("db (sum)", db_pkg[0], db_scipy),
]:
    checks.assert_close(f"{name:32s}", ours, ref, tol=1e-12)

# %% [markdown]
# The picture of the input gradient. Random numbers make an unreadable picture, so take a
# kernel with distinct integer entries and an upstream gradient that is 1 at a single output
# $(1, 2)$ and 0 elsewhere. Pad $g$ with $k-1$ zeros, rotate the kernel by 180° and slide it:
# only windows that cover the 1 contribute, so `dx` is the kernel itself, stamped on the
# $3\times3$ input window that output $(1, 2)$ read. A general $g$ is a weighted sum of such
# stamps: each input pixel collects the gradient of every output whose window covered it.

# %%
w_demo = np.arange(1.0, 10.0).reshape(3, 3)
g_demo = np.zeros((4, 5))
g_demo[1, 2] = 1.0
dx_demo = scipy.signal.correlate2d(np.pad(g_demo, 2), np.rot90(w_demo, 2), mode="valid")
assert np.array_equal(dx_demo[1:4, 2:5], w_demo) and dx_demo.sum() == w_demo.sum()
panels = [
    (np.pad(g_demo, 2), "upstream gradient g (1 at output (1, 2)),\npadded with k−1 = 2 zeros"),
    (w_demo, "kernel w"),
    (np.rot90(w_demo, 2), "kernel rotated 180°"),
    (dx_demo, "dL/dx = padded g ⋆ rotated w\n(shape of x: 6×7)"),
]

# %%
fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
for ax, (img, title) in zip(axes, panels, strict=True):
    ax.imshow(img, cmap="Blues", vmin=0, vmax=img.max())
    for (r, c), v in np.ndenumerate(img):
        ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=8,
                color="white" if v > 0.6 * img.max() else "black")
    ax.set_title(title, fontsize=10)
    ax.set_xticks(range(img.shape[1]))
    ax.set_yticks(range(img.shape[0]))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
fig.suptitle("One upstream gradient of 1 stamps the kernel onto the input window it came from")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Stride and padding
#
# With stride $s$, output $(i,j)$ reads the window starting at $(si, sj)$. Backwards, that
# is the stride-1 rule applied to a **dilated** upstream gradient: insert $s-1$ zeros between
# its entries, then do the full convolution. Padding only shifts where the window starts; the
# gradient of the padded input is computed and the padding is cut away. Checked here for
# stride 2 on one channel:

# %%
s = 2
x2 = rng.standard_normal((8, 9))
g2 = rng.standard_normal((core.output_size(8, 3, s, "VALID"), core.output_size(9, 3, s, "VALID")))
dilated = np.zeros(((g2.shape[0] - 1) * s + 1, (g2.shape[1] - 1) * s + 1))
dilated[::s, ::s] = g2
dx_dilated = scipy.signal.convolve2d(dilated, w1, mode="full")
# The last rows/columns of x that no window reaches get zero gradient.
dx_dilated = np.pad(dx_dilated, [(0, 8 - dx_dilated.shape[0]), (0, 9 - dx_dilated.shape[1])])
dx_pkg2, _, _ = conv.conv2d_backward(
    g2[None, :, :, None], x2[None, :, :, None], w1[:, :, None, None], stride=s
)
err = np.max(np.abs(dx_pkg2[0, :, :, 0] - dx_dilated))
print(f"stride 2: package dx vs full convolution of the dilated gradient: max |diff| = {err:.1e}")
assert err < 1e-12

# %% [markdown]
# ### The package against TensorFlow
#
# SciPy confirmed the formulas on one channel. For batches, channels, strides and
# 'SAME' padding the independent reference is TensorFlow's automatic differentiation:
# `tf.GradientTape` records the forward `tf.nn.conv2d` and differentiates it. The loss here is
# $L = \sum y \odot R$ for a fixed random $R$, so the upstream gradient is exactly $R$.

# %%
import tensorflow as tf

cases = [
    dict(x=(2, 9, 8, 3), w=(3, 3, 3, 4), stride=1, padding="VALID"),
    dict(x=(3, 10, 11, 2), w=(3, 3, 2, 5), stride=2, padding="SAME"),
    dict(x=(2, 7, 7, 4), w=(2, 2, 4, 3), stride=3, padding="VALID"),
]
for case in cases:
    x = rng.standard_normal(case["x"])
    w = rng.standard_normal(case["w"])
    b = rng.standard_normal(case["w"][-1])
    xt, wt, bt = (tf.Variable(v) for v in (x, w, b))
    with tf.GradientTape() as tape:
        y = tf.nn.conv2d(xt, wt, case["stride"], case["padding"]) + bt
        r = tf.constant(rng.standard_normal(y.shape))
        loss = tf.reduce_sum(y * r)
    tf_grads = tape.gradient(loss, [xt, wt, bt])
    ours = conv.conv2d_backward(r.numpy(), x, w, case["stride"], case["padding"])
    errors = [gradcheck.relative_error(o, t.numpy()) for o, t in zip(ours, tf_grads, strict=True)]
    print(
        f"x {case['x']}, w {case['w']}, stride {case['stride']}, {case['padding']:5s}: "
        "relative error dx {:.1e}, dw {:.1e}, db {:.1e}".format(*errors)
    )
    assert max(errors) < 1e-12

# %% [markdown]
# ### Exercise: the backward pass of a convolution
#
# Write `conv_backward_simple(dout, x, w)` for stride 1 and 'VALID' padding, batched and
# with channels: x is (N, H, W, C), w is (k, k, C, O) and dout is (N, H−k+1, W−k+1, O).
# Return `(dx, dw, db)` with the shapes of x, w and (O,).
#
# A loop over the $k^2$ kernel offsets $(a, c)$ is enough: for one offset, the inputs that
# met $w_{ac}$ are the slice `x[:, a:a+OH, c:c+OW, :]`, one per output position. Use
# `np.einsum` or `@` for the sums over batch, positions and channels.
#
# The check below compares your function with the package's `conv2d_backward` (which matched
# TensorFlow above) on a few shapes, from one pixel of one channel up to a batch with
# several channels.


# %%
def conv_backward_simple(dout, x, w):
    """Gradients of y = conv2d(x, w) + b (stride 1, VALID) given dout = dL/dy."""
    # BEGIN SOLUTION
    # HINT: loop over kernel offsets (a, c): which slice of x met w[a, c], and over which axes do you sum?
    k = w.shape[0]
    oh, ow = dout.shape[1:3]
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for a in range(k):
        for c in range(k):
            window = x[:, a : a + oh, c : c + ow, :]
            dw[a, c] = np.einsum("nijc,nijo->co", window, dout)
            dx[:, a : a + oh, c : c + ow, :] += dout @ w[a, c].T
    db = dout.sum(axis=(0, 1, 2))
    return dx, dw, db
    # END SOLUTION


# %%
def _backward_case(shape_x, k, c_out, seed):
    r = np.random.default_rng(seed)
    x = r.standard_normal(shape_x)
    w = r.standard_normal((k, k, shape_x[-1], c_out))
    dout = r.standard_normal((shape_x[0], shape_x[1] - k + 1, shape_x[2] - k + 1, c_out))
    return checks.Case(
        args=(dout, x, w),
        expected=tuple(conv.conv2d_backward(dout, x, w)),
        label=f"x {shape_x}, w {w.shape}",
    )


backward_cases = [
    _backward_case((1, 3, 3, 1), 3, 1, 1),
    _backward_case((1, 5, 6, 1), 2, 1, 2),
    _backward_case((2, 6, 5, 3), 3, 4, 3),
    _backward_case((3, 7, 7, 2), 1, 2, 4),
]
checks.check_function(
    "conv_backward_simple",
    conv_backward_simple,
    backward_cases,
    hint="loop over kernel offsets; dx accumulates, dw[a, c] is one einsum",
)

# %% [markdown]
# ## 2. Finite differences, and how to choose ε
#
# An analytic gradient needs an independent check. The central difference
#
# $$\frac{\partial E}{\partial w} \approx \frac{E(w+\varepsilon) - E(w-\varepsilon)}{2\varepsilon}$$
#
# needs only the forward pass. Two errors pull in opposite directions:
#
# - **truncation**: by Taylor's theorem the formula is off by about
#   $\tfrac{\varepsilon^2}{6}|E'''|$: too large an ε measures a secant, not a tangent;
# - **rounding**: $E(w\pm\varepsilon)$ are each computed with a relative error of about $u$
#   (the unit roundoff: $1.1\times10^{-16}$ in float64, $6\times10^{-8}$ in float32), and the
#   subtraction divides that by $2\varepsilon$, giving about $u\,|E|/\varepsilon$.
#
# The sum is smallest near $\varepsilon \approx u^{1/3}$: about $10^{-5}$ in float64 and
# $10^{-2.5}$ in float32. At its best ε, float64 should match the analytic gradient to many
# more digits than float32; the sweep below prints how many on this run, and asserts the gap.
# The check is the **relative error** $\lVert a - n\rVert / \max(\lVert a\rVert, \lVert n\rVert)$
# between analytic and numerical gradients: below $10^{-7}$ in float64 means right.
#
# We measure it on a conv layer followed by tanh (a linear loss would have no truncation
# error at all), $E(w) = \sum \tanh(\mathrm{conv}(x, w)) \odot R$, for 20 kernel weights.

# %%
x_fd = rng.standard_normal((2, 8, 8, 3))
w_fd = rng.standard_normal((3, 3, 3, 4)) * 0.3
r_fd = rng.standard_normal((2, 6, 6, 4))


def tanh_conv_loss(w, x=x_fd, r=r_fd):
    return np.sum(np.tanh(conv.conv2d(x, w)) * r)


# Analytic gradient in float64: chain rule through tanh, then the conv's backward pass.
dout_fd = r_fd * (1 - np.tanh(conv.conv2d(x_fd, w_fd)) ** 2)
dw_fd = conv.conv2d_backward(dout_fd, x_fd, w_fd)[1]
fd_indices = gradcheck.sample_indices(w_fd.shape, 20, seed=SEED)
eps_values = np.logspace(-1, -12, 45)

# %%
x_fd32, r_fd32 = x_fd.astype(np.float32), r_fd.astype(np.float32)
sweep = {
    "float64": gradcheck.eps_sweep(tanh_conv_loss, w_fd.copy(), dw_fd, eps_values, fd_indices),
    # float32: the same loss evaluated entirely in float32, against the float64 gradient.
    "float32": gradcheck.eps_sweep(
        lambda w: tanh_conv_loss(w, x_fd32, r_fd32),
        w_fd.astype(np.float32),
        dw_fd,
        eps_values,
        fd_indices,
    ),
}
for name, errors in sweep.items():
    best = np.nanargmin(errors)
    print(
        f"{name}: best ε = {eps_values[best]:.1e}, relative error {errors[best]:.1e};"
        f"  at ε = 1e-1: {errors[0]:.1e};  at ε = {eps_values[-1]:.0e}: "
        + (f"{errors[-1]:.1e}" if np.isfinite(errors[-1]) else f"step below {name} resolution")
    )
best64, best32 = np.nanmin(sweep["float64"]), np.nanmin(sweep["float32"])
assert best64 < 1e-8, "float64 should agree to at least 8 digits at its best ε"
assert 1e-7 < eps_values[np.nanargmin(sweep["float64"])] < 1e-3
assert best32 > 100 * best64, "float32 cannot be as accurate as float64"
assert sweep["float64"][0] > 1e3 * best64 and sweep["float64"][-1] > 1e3 * best64
print(
    f"at its best ε, float64 agrees to about {-np.log10(best64):.0f} digits, float32 to about "
    f"{-np.log10(best32):.0f} (relative errors {best64:.1e} and {best32:.1e}): float32 is "
    f"{best32 / best64:.0e} times worse, too coarse to tell a subtle bug from rounding"
)

# %% [markdown]
# SciPy ships the same idea as `scipy.optimize.check_grad(f, grad, w)`: it takes a flat
# vector, uses *forward* differences $(E(w+\varepsilon) - E(w))/\varepsilon$ with
# $\varepsilon \approx 1.5\times10^{-8}$ on every weight, and returns the 2-norm of the
# difference (absolute, so divide by the gradient's norm to compare with our relative error).
# Forward differences have truncation error $\propto\varepsilon$, not $\varepsilon^2$: expect
# fewer correct digits than our central differences at their best ε.

# %%
shape_fd = w_fd.shape
scipy_norm = scipy.optimize.check_grad(
    lambda v: tanh_conv_loss(v.reshape(shape_fd)),
    lambda v: conv.conv2d_backward(
        r_fd * (1 - np.tanh(conv.conv2d(x_fd, v.reshape(shape_fd))) ** 2), x_fd, v.reshape(shape_fd)
    )[1].ravel(),
    w_fd.ravel(),
)
scipy_relative = scipy_norm / np.linalg.norm(dw_fd)
print(
    f"scipy.optimize.check_grad: |difference| = {scipy_norm:.1e}, relative {scipy_relative:.1e} "
    f"(all {w_fd.size} weights, forward differences); ours at the best ε: {best64:.1e} "
    f"(20 weights, central differences)"
)
assert scipy_relative < 1e-5 and best64 < scipy_relative

# %%
fig, ax = plt.subplots(figsize=(7, 4.2))
for (name, errors), color in zip(sweep.items(), ["C0", "C3"], strict=True):
    ax.loglog(eps_values, errors, "o-", ms=3, color=color, label=name)
u64 = np.finfo(np.float64).eps / 2
ax.loglog(
    eps_values,
    eps_values**2 * sweep["float64"][0] / eps_values[0] ** 2,
    "k:",
    lw=1,
    label="truncation ∝ ε²",
)
ax.loglog(eps_values, u64 / eps_values, "k--", lw=1, label="rounding ∝ u/ε (float64)")
u32 = np.finfo(np.float32).eps / 2
ax.loglog(eps_values, u32 / eps_values, "--", color="C3", lw=1, label="rounding ∝ u/ε (float32)")
ax.set_ylim(1e-12, 10)
ax.set_xlabel("finite-difference step ε")
ax.set_ylabel("relative error vs analytic gradient")
ax.set_title("Central differences: too large an ε truncates, too small an ε rounds")
ax.invert_xaxis()
ax.legend(loc="upper right", fontsize=8)
plt.show()

# %% [markdown]
# Move the slider: the function recomputes the 20 finite differences at your ε in the chosen
# dtype and marks the result on the curve. Note where float32 becomes useless (the step falls
# below what float32 can resolve near $w$, shown as a gap in the curve).


# %%
def show_eps(log10_eps=-5.0, dtype="float64"):
    eps = 10.0**log10_eps
    if dtype == "float64":
        w0, f = w_fd.copy(), tanh_conv_loss
    else:
        w0, f = w_fd.astype(np.float32), lambda w: tanh_conv_loss(w, x_fd32, r_fd32)
    error = gradcheck.eps_sweep(f, w0, dw_fd, [eps], fd_indices)[0]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.loglog(eps_values, sweep[dtype], "-", color="0.6", label=f"{dtype} sweep")
    if np.isfinite(error):
        ax.loglog([eps], [error], "o", color="C3", ms=10, label=f"ε = {eps:.1e}")
    ax.set_xlabel("ε")
    ax.set_ylabel("relative error")
    ax.set_title(f"{dtype}, ε = {eps:.1e}: relative error {error:.1e}")
    ax.invert_xaxis()
    ax.legend()
    plt.show()


interact.show(
    show_eps,
    log10_eps=widgets.FloatSlider(value=-5, min=-12, max=-1, step=0.5, description="log10 ε"),
    dtype=widgets.Dropdown(options=["float64", "float32"], description="dtype"),
)

# %% [markdown]
# ## 3. Every layer, gradient-checked in float64
#
# The network is built from layers in `dlcourse.nets.layers` (named `Conv` and `Affine`, not
# Keras's `Conv2D` and `Dense`: these are NumPy objects with their own arguments). Each has
# `forward(x)`, which remembers what the backward pass needs, and `backward(dout)`, which returns
# $\partial L/\partial x$ and stores the parameter gradients in `layer.grads`:
#
# | layer | forward | backward |
# |---|---|---|
# | `Conv` | $y = x \star w + b$ | section 1 (`conv.conv2d_backward`) |
# | `ReLU` | $y = \max(x, 0)$ | $g \cdot [x > 0]$ |
# | `Flatten` | reshape to (N, features) | reshape back |
# | `Affine` | $y = xW + b$ | $dW = x^\top g$, $db = \sum_n g$, $dx = g W^\top$ |
# | `SoftmaxCrossEntropy` | $L = -\frac1N\sum_n \log \mathrm{softmax}(z_n)_{y_n}$ | $(\mathrm{softmax}(z) - \mathrm{onehot}(y))/N$ |
#
# `layers.gradient_errors(layer, x)` compares each analytic gradient with central differences
# (ε = 1e-6) of $L = \sum \mathrm{layer}(x)\odot R$. ReLU's input is kept away from 0, where
# the function has a kink and a finite difference that straddles it would be meaningless.

# %%
f64 = dict(rng=np.random.default_rng(SEED), dtype=np.float64)
relu_input = rng.standard_normal((2, 5, 5, 3))
relu_input[np.abs(relu_input) < 1e-2] = 0.5
layer_checks = [
    (
        "Conv 3×3, stride 1, VALID",
        layers.Conv(3, 4, 3, **f64),
        rng.standard_normal((2, 7, 6, 3)),
    ),
    (
        "Conv 3×3, stride 2, SAME",
        layers.Conv(2, 3, 3, 2, "SAME", **f64),
        rng.standard_normal((2, 7, 8, 2)),
    ),
    ("ReLU", layers.ReLU(), relu_input),
    ("Flatten", layers.Flatten(), rng.standard_normal((2, 4, 3, 2))),
    ("Affine 12 → 5", layers.Affine(12, 5, **f64), rng.standard_normal((3, 12))),
]
for name, layer, x in layer_checks:
    for key in layer.params:  # random parameters, including biases, so every term is exercised
        layer.params[key] = rng.standard_normal(layer.params[key].shape)
    errors = layers.gradient_errors(layer, x)
    print(f"{name:30s}", "  ".join(f"d{k}: {v:.1e}" for k, v in errors.items()))
    assert max(errors.values()) < 1e-7, (name, errors)

ce = layers.SoftmaxCrossEntropy()
logits, labels = rng.standard_normal((4, 10)), np.array([3, 0, 9, 3])
ce.forward(logits, labels)
ce_error = gradcheck.gradient_error(lambda z: ce.forward(z, labels), logits, ce.backward())
print(f"{'SoftmaxCrossEntropy':30s} dlogits: {ce_error:.1e}")
assert ce_error < 1e-7
worst_layer_error = max(
    ce_error, *(max(layers.gradient_errors(layer, x).values()) for _, layer, x in layer_checks)
)
report.record(NOTEBOOK, "worst layer gradient relative error (float64)", worst_layer_error)

# %% [markdown]
# Layers that are right one by one can still be wired wrongly, so we also check the
# assembled network end to end: the loss with respect to every parameter and to the input,
# on a small float64 version (6×6 images, 3 filters) where checking every entry is cheap.

# %%
tiny = layers.ConvNet(input_shape=(6, 6, 1), filters=3, classes=10, seed=SEED, dtype=np.float64)
for _, layer, key in tiny.parameters():
    layer.params[key] = rng.standard_normal(layer.params[key].shape) * 0.5
x_tiny, y_tiny = rng.standard_normal((3, 6, 6, 1)), np.array([1, 7, 7])
tiny.loss(x_tiny, y_tiny)
dx_tiny = tiny.backward()
analytic = {label: layer.grads[key].copy() for label, layer, key in tiny.parameters()}


def tiny_loss(_):
    return tiny.loss(x_tiny, y_tiny)


net_errors = {"input": gradcheck.gradient_error(tiny_loss, x_tiny, dx_tiny)}
for label, layer, key in tiny.parameters():
    net_errors[label] = gradcheck.gradient_error(tiny_loss, layer.params[key], analytic[label])
for label, err in net_errors.items():
    print(f"d loss / d {label:12s} relative error {err:.1e}")
assert max(net_errors.values()) < 1e-6

# %% [markdown]
# ## 4. A convolutional network in NumPy, trained on MNIST
#
# The notebook this lesson grew from sketched exactly this network in NumPy, but the sketch
# never ran: its `relu` cell and its training-loop cell stop with a `SyntaxError`, and its
# `ConvLayer.backwardPass` calls a `bprop_conv` that is never written. The version in
# `dlcourse.nets.layers` is short, gradient-checked above and unit-tested
# (`tests/test_layers.py`):
#
# $$28\times28\times1 \xrightarrow{\text{conv }3\times3\times32} 26\times26\times32
# \xrightarrow{\text{ReLU}} \xrightarrow{\text{conv }3\times3\times32} 24\times24\times32
# \xrightarrow{\text{ReLU, flatten}} 18432 \xrightarrow{\text{dense}} 10
# \xrightarrow{\text{softmax CE}} L$$
#
# Stride 1, 'VALID' padding, no pooling: about 194,000 parameters, most of them (184,330)
# in the dense layer. It trains with Adam (learning rate $10^{-3}$) on minibatches, in float32.

# %%
from dlcourse.data import load_mnist

(x_train, y_train), (x_test, y_test) = load_mnist()
FULL_MNIST = len(x_train) == 60_000
x_train, y_train = x_train[:N_TRAIN], y_train[:N_TRAIN]
x_test, y_test = x_test[:N_TEST], y_test[:N_TEST]
net = layers.ConvNet(
    input_shape=x_train.shape[1:], filters=32, kernel_size=3, classes=10, seed=SEED
)
n_params = sum(layer.params[key].size for _, layer, key in net.parameters())
print(f"training on {len(x_train):,} images, testing on {len(x_test):,}; {n_params:,} parameters")
assert n_params == (3 * 3 * 1 * 32 + 32) + (3 * 3 * 32 * 32 + 32) + (24 * 24 * 32 * 10 + 10)

# %% [markdown]
# Before training, one more independent check: the NumPy network's loss and gradients on a
# real MNIST batch, in float32, against the same computation written with TensorFlow ops
# and differentiated by `tf.GradientTape`.

# %%
xb, yb = x_train[:16], y_train[:16]
np_loss = net.loss(xb, yb)
net.backward()
tf_params = [tf.Variable(layer.params[key]) for _, layer, key in net.parameters()]
with tf.GradientTape() as tape:
    cw1, cb1, cw2, cb2, dw_, db_ = tf_params
    h = tf.nn.relu(tf.nn.conv2d(xb, cw1, 1, "VALID") + cb1)
    h = tf.nn.relu(tf.nn.conv2d(h, cw2, 1, "VALID") + cb2)
    z = tf.reshape(h, (len(xb), -1)) @ dw_ + db_
    tf_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, z))
tf_net_grads = tape.gradient(tf_loss, tf_params)
print(f"loss: NumPy {np_loss:.6f}, TensorFlow {float(tf_loss):.6f}")
assert abs(np_loss - float(tf_loss)) < 1e-5
for (label, layer, key), g in zip(net.parameters(), tf_net_grads, strict=True):
    err = gradcheck.relative_error(layer.grads[key], g.numpy())
    print(f"  {label:12s} relative error vs GradientTape {err:.1e}")
    assert err < 1e-4  # float32 rounding, summed over thousands of terms

# %% [markdown]
# Now train. The bar shows the running loss. On 2 idle CPU cores one epoch over 60,000 images
# takes under a minute; shared or busy cores can make it ten times slower.

# %%
epoch_accuracy = []
start = time.perf_counter()
losses = layers.train(
    net,
    nets.Adam(LEARNING_RATE),
    x_train,
    y_train,
    epochs=EPOCHS,
    batch_size=BATCH_SIZE,
    seed=SEED,
    on_epoch=lambda e: epoch_accuracy.append(layers.accuracy(net, x_test, y_test)),
)
train_seconds = time.perf_counter() - start
test_accuracy = epoch_accuracy[-1]
ms_per_image = 1e3 * train_seconds / (EPOCHS * len(x_train))
print(
    f"{EPOCHS} epoch(s) in {train_seconds:.1f} s ({ms_per_image:.2f} ms per training image, "
    f"including the test evaluation after each epoch)"
)
print("test accuracy after each epoch:", ", ".join(f"{a:.2%}" for a in epoch_accuracy))
print(
    f"estimated CPU time for full mode (3 epochs × 60,000 images): "
    f"{3 * 60_000 * ms_per_image / 1e3 / 60:.1f} min"
)

# %%
window = max(1, len(losses) // 20)
smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(losses, color="0.75", lw=0.8, label="minibatch loss")
ax.plot(np.arange(window - 1, len(losses)), smooth, color="C0", label=f"mean of {window} steps")
ax.axhline(np.log(10), color="C3", ls=":", label="chance level, ln 10")
ax.set_xlabel("training step")
ax.set_ylabel("cross-entropy (nats)")
ax.set_title(f"NumPy CNN on MNIST: test accuracy {test_accuracy:.2%}")
ax.legend()
plt.show()

# %% [markdown]
# The claims, checked: the loss falls well below its starting value (which is near
# $\ln 10 \approx 2.30$, a uniform guess), and the test accuracy is far above chance. In
# full mode on the real 60,000-image training set the network must reach 97%. (Offline the
# loader splits the 10,000 MNIST test images 8,000 / 2,000 instead: fewer training images,
# so the bar there is 95%.)

# %%
first, last = np.mean(losses[:10]), np.mean(losses[-10:])
print(f"mean loss of the first 10 steps {first:.3f}, of the last 10 steps {last:.3f}")
assert last < 0.5 * first, "the loss should at least halve"
if QUICK:
    required = 0.80
elif FULL_MNIST:
    required = 0.97
else:
    required = 0.95
print(f"test accuracy {test_accuracy:.2%} (required here: {required:.0%})")
assert test_accuracy >= required
report.record(NOTEBOOK, "numpy CNN test accuracy", 100 * test_accuracy, "%")
report.record(NOTEBOOK, "numpy CNN training time per image", ms_per_image, "ms")

# %% [markdown]
# Where does it go wrong? A few test digits the network misclassifies:

# %%
predictions = net.predict(x_test)
wrong = np.flatnonzero(predictions != y_test)[:8]
fig, axes = plt.subplots(1, max(len(wrong), 1), figsize=(1.6 * max(len(wrong), 1), 2.6))
for ax, i in zip(np.atleast_1d(axes), wrong, strict=False):
    ax.imshow(x_test[i, :, :, 0], cmap="gray_r")
    ax.set_title(f"true {y_test[i]}\npred {predictions[i]}", fontsize=9)
    ax.axis("off")
fig.suptitle(f"{np.sum(predictions != y_test)} of {len(y_test)} test digits misclassified")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Backprop by hand in a two-layer ReLU network
#
# Stripped of convolutions, backpropagation is three matrix products. For
# $h = \mathrm{relu}(xW_1)$, $y = hW_2$ and the squared error $E = \tfrac12\lVert y - t\rVert^2$:
#
# $$\frac{\partial E}{\partial y} = y - t,\qquad
# \frac{\partial E}{\partial W_2} = h^\top \frac{\partial E}{\partial y},\qquad
# \frac{\partial E}{\partial h} = \frac{\partial E}{\partial y} W_2^\top \text{ zeroed where } h \le 0,\qquad
# \frac{\partial E}{\partial W_1} = x^\top \frac{\partial E}{\partial h}.$$
#
# Each weight gradient is "input of the layer, transposed, times the gradient at its output";
# each backward step multiplies by the transposed weights. Checked against TensorFlow:

# %%
n, d_in, d_hidden, d_out = 64, 100, 50, 10
x_mlp = rng.standard_normal((n, d_in))
t_mlp = rng.standard_normal((n, d_out))
W1 = rng.standard_normal((d_in, d_hidden)) / np.sqrt(d_in)
W2 = rng.standard_normal((d_hidden, d_out)) / np.sqrt(d_hidden)

# Forward and backward by hand.
h = np.maximum(x_mlp @ W1, 0)
y = h @ W2
E = 0.5 * np.sum((y - t_mlp) ** 2)
grad_y = y - t_mlp
grad_W2 = h.T @ grad_y
grad_h = grad_y @ W2.T
grad_h[h <= 0] = 0
grad_W1 = x_mlp.T @ grad_h

# The same with automatic differentiation.
W1_tf, W2_tf = tf.Variable(W1), tf.Variable(W2)
with tf.GradientTape() as tape:
    E_tf = 0.5 * tf.reduce_sum((tf.nn.relu(x_mlp @ W1_tf) @ W2_tf - t_mlp) ** 2)
tape_W1, tape_W2 = tape.gradient(E_tf, [W1_tf, W2_tf])

print(f"loss: by hand {E:.10f}, TensorFlow {float(E_tf):.10f}")
for name, ours, ref in [("W1", grad_W1, tape_W1), ("W2", grad_W2, tape_W2)]:
    err = gradcheck.relative_error(ours, ref.numpy())
    print(f"grad {name}: relative error vs tf.GradientTape {err:.1e}")
    assert err < 1e-12
assert abs(E - float(E_tf)) < 1e-9 * E

# %% [markdown]
# ### Then and now
#
# The notebook this lesson grew from never asked TensorFlow for a gradient: its one TensorFlow
# cell, a float64 forward convolution, failed (lesson 01, section 6). The two-layer network in
# the sources is PyTorch's tutorial code, quoted in a Q&A thread, that writes the gradients by
# hand exactly as above (its loss has no ½, so its output gradient carries a factor 2); the
# asker wondered why $\nabla W_2$ multiplies by the hidden activations: they are the input of
# the layer $W_2$ belongs to.
#
# Asking TensorFlow 1.x for these gradients meant building a graph: declare placeholders, ask
# for symbolic gradients, initialise variables and feed the numbers through a session (a
# sketch in the style of that time):
#
# ```python
# # TensorFlow 0.x / 1.x (does not run on TensorFlow 2)
# x = tf.placeholder(tf.float64, [None, 100])
# t = tf.placeholder(tf.float64, [None, 10])
# W1 = tf.Variable(W1_init); W2 = tf.Variable(W2_init)
# E = 0.5 * tf.reduce_sum(tf.square(tf.matmul(tf.nn.relu(tf.matmul(x, W1)), W2) - t))
# grad_W1, grad_W2 = tf.gradients(E, [W1, W2])
# with tf.Session() as sess:
#     sess.run(tf.initialize_all_variables())   # later: tf.global_variables_initializer()
#     g1, g2 = sess.run([grad_W1, grad_W2], feed_dict={x: x_data, t: t_data})
# ```
#
# TensorFlow 2 runs eagerly: the forward pass executes as ordinary Python inside a
# `tf.GradientTape` block, which records the operations, and `tape.gradient` replays them
# backwards, as in the cell above. No placeholders, no session, no initialiser;
# `tf.function` recovers graph speed where it matters. (`tf.gradients` still exists, but only
# inside a `tf.function`.) In Keras 3, `model.fit` does all of this for you; `GradientTape` is
# what you use when you write the training step yourself.

# %% [markdown]
# ## Summary
#
# - A conv layer's backward pass is three familiar operations: $\partial L/\partial b$ sums
#   the upstream gradient, $\partial L/\partial w$ correlates the input with it, and
#   $\partial L/\partial x$ is its full convolution with the 180°-rotated kernel (with stride
#   $s$: of the gradient dilated by $s-1$ zeros). SciPy and `tf.GradientTape` agreed to
#   better than $10^{-12}$ (asserted).
# - Central differences check any gradient using only the forward pass, but only in float64:
#   the error falls as $\varepsilon^2$ until rounding, growing as $u/\varepsilon$, takes over
#   near $\varepsilon \approx 10^{-5}$; float32's best error was orders of magnitude worse
#   (both printed in section 2).
# - Every layer of the NumPy CNN matched finite differences to better than $10^{-7}$, the
#   assembled network to better than $10^{-6}$ (asserted), and TensorFlow on a real batch; the network trains on MNIST (the
#   accuracy above is recorded in the course results).
# - Two-layer ReLU network: $\nabla W_2 = h^\top \nabla y$,
#   $\nabla h = \nabla y\, W_2^\top \odot [h>0]$, $\nabla W_1 = x^\top \nabla h$, the same as
#   `tf.GradientTape` to machine precision.
#
# Next, lesson 03 shows that a dense layer is a convolution in disguise.

# %% [markdown]
# ## References
#
# - Stanford CS231n course notes: [Backpropagation, intuitions](https://cs231n.github.io/optimization-2/) and [Convolutional Networks](https://cs231n.github.io/convolutional-networks/).
# - V. Dumoulin, F. Visin (2016). A guide to convolution arithmetic for deep learning (transposed convolutions). [arXiv:1603.07285](https://arxiv.org/abs/1603.07285)
# - D. P. Kingma, J. Ba (2014). Adam: a method for stochastic optimization. [arXiv:1412.6980](https://arxiv.org/abs/1412.6980)
# - PyTorch tutorials: [Learning PyTorch with Examples](https://pytorch.org/tutorials/beginner/pytorch_with_examples.html) (the two-layer network with hand-written gradients).
