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
# # 08 · Recombinator networks: coarse-to-fine keypoint localisation
#
# Where, to the pixel, is the corner of this eye? To answer you need **fine detail** (the
# corner is a tiny feature) and **context** (is this dark blob an eye at all, or a button in the
# background? where is the eye hidden behind a hand?). A stack of convolutions and poolings
# gains context by shrinking the image, and loses position on the way. *Recombinator networks*
# (Honari et al., 2016) get both: they bring the coarse maps back up and **concatenate** them
# with the fine maps of the same size, so that the fine features are computed knowing the
# context.
#
# **You will learn**
# - a synthetic face data set that is genuinely hard (pose, clutter, occlusion), and a loader for
#   the real one (which the course does not ship: it needs a Kaggle account);
# - target scaling to $[-1, 1]$, and a **masked loss** that learns from faces with missing points;
# - nearest-neighbour upsampling (`UpSampling2D`) and the recombination of coarse and fine maps;
# - heat maps: the paper's softmax over positions, trained by the log-likelihood of the true
#   pixel and read out by the argmax, and this course's differentiable, sub-pixel
#   **soft-argmax**, compared on the same budget;
# - receptive fields at each scale, and the parameter and multiply-accumulate counts of each model;
# - a fair comparison: a plain encoder with a dense head, a summing decoder (SumNet) and the
#   recombinator, trained on the same data with the same budget, measured in pixels against
#   the baseline every model must beat: predicting the average training face;
# - what the source post's code did, and its bugs.
#
# **Time**: quick mode (`DLCOURSE_QUICK=1`) about 2½ to 3 minutes on 2 CPU cores (2.4 to 3.1
# minutes on seeds 0, 1 and 2 on a shared AVX2 machine, 2026-12-08, with the course kernel's
# oneDNN kernels: see `jupyter/README.md`; about 3½ minutes without them). Its training runs
# are too short to rank the models against each other, so beside each quick result the
# lesson prints the full-mode result of a recorded reference run. The recorded full run (2026-12-07, all four
# training runs, before the kernel turned oneDNN on) took 116 minutes on 2 CPU cores of a
# shared AVX2 machine, beside a test suite; its 117 minutes of CPU time spread over 2 idle
# cores make about an hour. It is much faster on a GPU. The lesson prints its own time
# with the goals at the end; each training run prints its time, and `benchmarks/keypoints.py`
# compares them.

# %%
import os
import time

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from dlcourse import config, interact, opcount, report
from dlcourse.checks import Case, assert_close, check_function
from dlcourse.keypoints import (
    KAGGLE_COMPLETE,
    KAGGLE_PARTIAL_POINTS,
    KAGGLE_TOTAL,
    KEYPOINT_NAMES,
    SIZE,
    interocular_error,
    kaggle_incomplete,
    load_facial_keypoints,
    make_faces,
    masked_mse,
    models,
    per_keypoint_rmse,
    plots,
    predict_pixels,
    rmse_pixels,
    scale_targets,
    soft_argmax,
    softmax_grid,
    train,
    unscale_targets,
)

NOTEBOOK = "08_recombinator_networks"
lesson_start = time.perf_counter()  # the whole lesson's time is printed with the goals

# %% tags=["parameters"]
QUICK = config.quick_mode()  # DLCOURSE_QUICK=1: quick mode (small sizes); 0 or unset: full
N_TRAIN = 320 if QUICK else 8000  # synthetic training faces
N_TEST = 100 if QUICK else 1000  # held-out faces (fewer let a few hopeless faces sway the RMSE)
STEPS = 160 if QUICK else 2000  # gradient steps per model, the same for every model
N_MISSING = 320 if QUICK else 2000  # training faces of the missing-label experiment
MISSING_STEPS = 100 if QUICK else 600  # steps per run of the missing-label experiment
BATCH = 8 if QUICK else 24  # faces per gradient step
LR = 3e-3
EVALS = 2 if QUICK else 8  # points on each learning curve
SEED = 0  # initial weights and batch order of every training run (section 8)
CHECK_GOALS = not QUICK  # assert the lesson's goals (full mode); False for a shortened run

# %% [markdown]
# ## 1. The data: synthetic faces that are hard on purpose
#
# The source post (*Recombinator Networks in TensorFlow*) trained on the facial keypoints data
# set from Kaggle: 96×96 grey faces with 30 numbers each ($x, y$ of 15 points: each eye centre,
# eye corners, eyebrow ends, nose tip, mouth corners and lips). That file needs a Kaggle account
# to download, so the lesson always has a synthetic stand-in, `make_faces`, built so that a
# shallow guess does not work: every face has its own position, scale (0.6–1.2), in-plane rotation
# (±30°), yaw (near points such as the nose swing further than far ones), expression and gaze; the
# background holds clutter with face-like parts (eye-like almonds, dark blobs, strokes); a
# lighting gradient, noise and occluders finish it. Occluded points keep their labels: the network
# has to infer them from the rest of the face.
#
# Points are in pixels, pixel (row $r$, column $c$) centred at $x=c, y=r$, and "left" is the
# person's left (red dots, on the right of the picture).

# %%
t0 = time.perf_counter()
x_train, k_train = make_faces(N_TRAIN, seed=1)
x_test, k_test = make_faces(N_TEST, seed=2)
print(f"{N_TRAIN + N_TEST} faces in {time.perf_counter() - t0:.1f} s;",
      f"images {x_train.shape} {x_train.dtype}, keypoints {k_train.shape}")
assert np.nanmin(k_train) >= 0 and np.nanmax(k_train) <= SIZE - 1
plots.face_grid(x_train, k_train, title="synthetic training faces (red: left, blue: right)")
plt.show()

# %% [markdown]
# **The real data.** The course does not ship it. When you have the competition's
# `training.csv` (from the *Facial Keypoints Detection* competition on Kaggle),
# `load_facial_keypoints(path)` returns the same layout: images $(n, 96, 96, 1)$ in $[0, 1]$ and
# keypoints $(n, 30)$ in pixels, empty cells as NaN. Without the file it says where to get it
# (and every result below is on the synthetic faces):

# %%
try:
    real_x, real_k = load_facial_keypoints(os.environ.get("FACIAL_KEYPOINTS_CSV", "training.csv"))
    print(f"real faces: {real_x.shape}, complete rows: {(~np.isnan(real_k).any(axis=1)).sum()}")
except FileNotFoundError as err:
    print(err)

# %% [markdown]
# ## 2. Targets in $[-1, 1]$
#
# The source's model ends in a dense layer with a $\tanh$ output, whose values lie in
# $(-1, 1)$, so its targets are scaled the same way: $\tilde y = (y - 48)/48$ for 96-pixel
# images. One scaled unit is 48 pixels.
#
# **The post's one number.** The post says that "after the end of 10000 epochs RMSE was
# 0.03528". Its training cell prints something else: `training loss`, the mean over an epoch's
# batches of `tf.reduce_mean(tf.square(last_layer - position))`, a **mean squared** error of
# scaled targets, on the **training** faces, computed with dropout on. Read as the post names
# it, an RMSE, 0.03528 is 1.7 pixels; read as what the code prints, an MSE, it is
# $\sqrt{0.03528} \times 48 \approx 9.0$ pixels. Either way it is an error on the faces the
# model was trained on, not comparable with the held-out errors of this lesson.

# %%
scaled = scale_targets(k_train)
print(f"scaled targets in [{scaled.min():.3f}, {scaled.max():.3f}]; one scaled unit = 48 px")
print(f"the post's 0.03528 read as an RMSE: {0.03528 * 48:.1f} px; "
      f"read as the MSE its code prints: {np.sqrt(0.03528) * 48:.1f} px (training faces)")
assert_close("scale_targets vs (k - 48) / 48", scaled, (k_train - 48) / 48, tol=1e-6)

# %% [markdown]
# ### Exercise 1 (a warm-up) — back to pixels
# Write the inverse of the scaling: scaled coordinates (any shape) to pixels, for 96-pixel
# images. NaN must stay NaN.


# %%
def my_unscale(k_scaled):
    # BEGIN SOLUTION
    # HINT: solve y_scaled = (y - 48) / 48 for y
    return np.asarray(k_scaled, dtype=np.float64) * 48 + 48
    # END SOLUTION


# %%
_, three_faces = make_faces(3, seed=7)
_ = check_function(
    "my_unscale",
    my_unscale,
    [
        Case((np.array([-1.0, 0.0, 1.0]),), np.array([0.0, 48.0, 96.0])),
        Case((np.array([[0.5, -0.25]]),), np.array([[72.0, 36.0]])),
        Case((scale_targets(three_faces),), three_faces.astype(np.float64),
             label="three generated faces"),
        Case((np.array([[0.5, np.nan], [np.nan, -1.0]]),),
             np.array([[72.0, np.nan], [np.nan, 0.0]]), label="a face with missing points (NaN)"),
    ],
    atol=1e-4,
    hint="invert scaled = (pixels - 48) / 48; plain arithmetic keeps NaN as NaN",
)

# %% [markdown]
# ## 3. Missing labels
#
# In the competition's training file only 2,140 of 7,049 faces have all 15 points; nearly all
# the others have just four (the eye centres, the nose tip and the bottom lip). (These counts
# are the file's; the post gives none.) The source post's loader calls `df.dropna()`, which
# drops every incomplete row: 70% of the faces. `make_faces(..., missing="kaggle")`
# reproduces that pattern on the synthetic faces (the images stay the same: face $i$ of a
# seed is the same face whatever $n$). Section 10 trains on the first `N_MISSING` faces with
# this pattern.

# %%
_, k_kaggle = make_faces(N_MISSING, seed=1, missing="kaggle")
complete = ~np.isnan(k_kaggle).any(axis=1)
points_per_face = (~np.isnan(k_kaggle[:, 0::2])).sum(axis=1)
print(f"complete faces: {complete.sum()} of {N_MISSING} ({complete.mean():.1%}); "
      f"the real file: {KAGGLE_COMPLETE} of {KAGGLE_TOTAL} ({KAGGLE_COMPLETE / KAGGLE_TOTAL:.1%})")
print("points per face:", dict(zip(*np.unique(points_per_face, return_counts=True), strict=True)))
assert_close("fraction of complete faces vs the real file's", complete.mean(),
             KAGGLE_COMPLETE / KAGGLE_TOTAL, tol=1 / N_MISSING + 1e-9)  # one face of rounding
assert np.array_equal(~complete, kaggle_incomplete(N_MISSING, seed=1))
present = ~np.isnan(k_kaggle)
assert np.array_equal(k_kaggle[present], k_train[:N_MISSING][present])  # the same faces

# %% [markdown]
# A **masked** mean squared error learns from every face: it averages over the targets that are
# present and ignores the NaNs,
#
# $$L = \frac{1}{|P|} \sum_{(i,j) \in P} (y_{ij} - \hat y_{ij})^2, \qquad
# P = \{(i, j) : y_{ij} \text{ is not NaN}\}.$$
#
# Check `masked_mse` (a Keras loss) against NumPy's `nanmean` on a batch with holes.

# %%
rng = np.random.default_rng(0)
y_pred = rng.uniform(-1, 1, (16, 30)).astype(np.float32)
batch = scale_targets(k_kaggle[:16])
got = float(masked_mse(batch, y_pred))
want = float(np.nanmean((batch - y_pred) ** 2))
print(f"masked_mse {got:.6f}, numpy nanmean {want:.6f}")
assert_close("masked_mse vs numpy nanmean", got, want, tol=1e-6)

# %% [markdown]
# ## 4. Going down and coming back up
#
# The encoder halves the resolution three times with 2×2 max-pooling: 96 → 48 → 24 → 12. The
# decoder goes back up with **nearest-neighbour upsampling**: each value is repeated into a 2×2
# block. The source post, finding no upsampling layer in TensorFlow 0.x, wrote one by hand
# (split and repeat along the rows, then along the columns); Keras has `UpSampling2D`. They are
# the same operation:

# %%
coarse = rng.normal(size=(2, 12, 12, 5)).astype(np.float32)
by_keras = keras.layers.UpSampling2D(2)(coarse).numpy()
by_hand = models.upsample_repeat(coarse, 2)
print(f"{coarse.shape} upsampled to {by_keras.shape}")
assert_close("UpSampling2D vs repeat", by_keras, by_hand, tol=0)

# %% [markdown]
# **Recombination.** The upsampled coarse maps (context) and the encoder's maps at the same
# resolution (detail) are **concatenated** along the channel axis, and the next convolution sees
# both. SumNet, the paper's baseline, instead lets each scale make its own heat maps and *adds*
# them at the end: the fine branch never sees the context.
#
# *Then and now:* the post, in TF 0.x, wrote `tf.concat(3, [up, fine])` (axis first, the
# upsampled coarse maps first); TF 1.x moved the axis last, `tf.concat([up, fine], axis=3)`;
# Keras 3 has the layer `keras.layers.Concatenate()` (last axis by default; this course puts
# the fine maps first), and a `keras.Model` replaces the placeholders and the `Session`.
#
# ### Exercise 2 — the shape after upsample-and-concatenate
# Given the NHWC shape of a coarse map and of the encoder's fine map, return the shape after
# `UpSampling2D(2)` on the coarse map and concatenation with the fine one (fine first). Raise
# `ValueError` when the two cannot be concatenated (a different size, or a different number of
# images in the batch).


# %%
def my_recombined_shape(coarse_shape, fine_shape):
    # BEGIN SOLUTION
    # HINT: upsampling doubles h and w; concatenation needs equal n, h, w and adds the channels
    n, h, w, c = coarse_shape
    n2, h2, w2, c2 = fine_shape
    if (n, 2 * h, 2 * w) != (n2, h2, w2):
        raise ValueError(f"cannot concatenate {coarse_shape} upsampled with {fine_shape}")
    return (n, 2 * h, 2 * w, c2 + c)
    # END SOLUTION


# %%
def keras_recombined_shape(coarse_shape, fine_shape):
    """The reference: run the two Keras layers on zeros and read the shape."""
    up = keras.layers.UpSampling2D(2)(np.zeros(coarse_shape, np.float32))
    return tuple(keras.layers.Concatenate()([np.zeros(fine_shape, np.float32), up]).shape)


def shape_or_error(coarse_shape, fine_shape):
    """The learner's shape, or the text "ValueError" when it raises one (as it should)."""
    try:
        return my_recombined_shape(coarse_shape, fine_shape)
    except ValueError:
        return "ValueError"


def recombined_case(coarse_shape, fine_shape):
    return Case((coarse_shape, fine_shape), keras_recombined_shape(coarse_shape, fine_shape))


# %%
_ = check_function(
    "my_recombined_shape",
    shape_or_error,
    [
        recombined_case((1, 12, 12, 48), (1, 24, 24, 32)),
        recombined_case((4, 24, 24, 32), (4, 48, 48, 16)),
        recombined_case((2, 48, 48, 16), (2, 96, 96, 8)),
        Case(((1, 12, 12, 8), (1, 48, 48, 8)), "ValueError",
             label="a 12×12 map and a 48×48 map (should raise ValueError)"),
        Case(((2, 12, 12, 8), (3, 24, 24, 8)), "ValueError",
             label="a batch of 2 coarse maps and a batch of 3 fine maps (should raise ValueError)"),
    ],
    hint="UpSampling2D(2) makes (n, 2h, 2w, c); concatenating needs the same n, 2h, 2w as the "
         "fine map and adds the channel counts",
)

# %% [markdown]
# ## 5. Heat maps and the soft-argmax
#
# The paper's recombinator networks (Honari et al., 2016) do not regress coordinates with a
# dense layer: they end in one **heat map** per keypoint, a 96×96 map of scores $h_{rc}$, and a
# softmax over the 9,216 positions turns it into a probability map
#
# $$p_{rc} = \frac{e^{h_{rc}}}{\sum_{r'c'} e^{h_{r'c'}}}.$$
#
# **The paper's training and read-out.** The true point is rounded to its pixel $(r^*, c^*)$
# and the network is trained to make that pixel likely: the loss is the negative
# log-likelihood $-\log p_{r^*c^*}$ (`position_nll`). At test time the prediction is the
# **argmax**, the pixel with the highest score (`hard_argmax`): whole pixels only.
#
# **This course's read-out.** The lesson's models instead read the *expected* position, the
# **soft-argmax**, and train it with the squared error of the coordinates (`masked_mse`, the
# loss the plain encoder uses too):
#
# $$\hat x = \sum_{r,c} p_{rc}\, c, \qquad \hat y = \sum_{r,c} p_{rc}\, r .$$
#
# This is a choice of the course, not the paper's: it is differentiable, so every model trains
# with one loss on the coordinates, and it is not tied to the pixel grid (two equal neighbouring
# peaks give the point half-way between them). Section 8 trains SumNet both ways on the same
# budget. In the models the soft-argmax is built from
# ordinary layers: a softmax over positions, then a frozen `Dense(2)` whose weights are the
# $(x, y)$ of every pixel, so the expectation is a matrix product (and `opcount` can count it).

# %%
heat_in = keras.Input((SIZE, SIZE, 3))
head = keras.Model(heat_in, models.soft_argmax_head(heat_in))
maps = rng.normal(0, 3, (2, SIZE, SIZE, 3)).astype(np.float32)
maps[0, 30, 70, 0] = 60.0  # one dominant peak: point 0 of face 0 is at x=70, y=30
by_head = unscale_targets(head.predict(maps, verbose=0)).reshape(2, 3, 2)
by_numpy = soft_argmax(np.moveaxis(maps, -1, 1))  # (2, 3, h, w) -> (2, 3, 2), float64
print("soft-argmax of the peaked map:", by_head[0, 0], "(expected about [70, 30])")
assert_close("Keras head vs NumPy (px)", by_head, by_numpy, tol=1e-3)
assert_close("the peaked map's point vs (70, 30) (px)", by_head[0, 0], [70, 30], tol=1e-3)

# %% [markdown]
# ### Exercise 3 — soft-argmax of a given heat map
# Return `np.array([x, y])` for one heat map of shape $(h, w)$. Subtract the maximum before
# `np.exp` so that large scores do not overflow.


# %%
def my_soft_argmax(heat):
    # BEGIN SOLUTION
    # HINT: p = exp(heat - max) / sum; x = sum of p times the column index, y with the row index
    heat = np.asarray(heat, dtype=np.float64)
    p = np.exp(heat - heat.max())
    p /= p.sum()
    rows, cols = np.indices(heat.shape)
    return np.array([(p * cols).sum(), (p * rows).sum()])
    # END SOLUTION


# %%
def _peaks(h, w, points, score=1000.0):
    heat = np.zeros((h, w))
    for r, c in points:
        heat[r, c] = score
    return heat


random_map = np.random.default_rng(5).normal(0, 3, (SIZE, SIZE))
_ = check_function(
    "my_soft_argmax",
    my_soft_argmax,
    [
        Case((_peaks(96, 96, [(30, 70)]),), np.array([70.0, 30.0]), label="a peak at row 30, col 70"),
        Case((np.zeros((8, 6)),), np.array([2.5, 3.5]), label="a flat 8×6 map"),
        Case((_peaks(10, 10, [(2, 3), (2, 4)]),), np.array([3.5, 2.0]), label="two equal peaks"),
        Case((random_map,), soft_argmax(random_map[None, None])[0, 0], label="a random map"),
    ],
    atol=1e-6,
    hint="a softmax over all positions (subtract the max first); x is the probability-weighted "
         "mean of the column index, y of the row index",
)

# %% [markdown]
# ## 6. Three models on the same encoder
#
# All three share the encoder: at each scale a 3×3 convolution (+ batch normalisation + ReLU),
# with 2×2 max-pooling between scales (96 → 48 → 24 → 12) and three convolutions at 12×12,
# where they are cheap and let each coarse unit see most of the face.
#
# | model | after the encoder | output |
# | --- | --- | --- |
# | (a) plain encoder | flatten the 12×12 maps, dense layer (+ batch normalisation + ReLU), dense $\tanh$ | 30 numbers |
# | (b) SumNet | each scale: conv → 15 maps, upsample to 96×96, **sum** | soft-argmax |
# | (c) recombinator (RCN) | upsample, **concatenate** with the encoder map, convolve; at 24, 48, 96 | soft-argmax |
#
# The recombinator spends its arithmetic where it is cheap: two convolutions at 24 and at 48
# pixels, then a 1×1 convolution squeezes the maps to 16 channels before the last upsampling,
# and a single 16-channel convolution works at 96×96 (every channel at 96×96 costs four times
# what it costs at 48×48).
#
# **The source post's model is none of these three.** Its encoder has 16, 32, 48 and 48
# channels at 96, 48, 24 and 12 pixels; its decoder is a recombinator (upsample, concatenate
# with the encoder map, two 3×3 convolutions at 24, 48 and 96 pixels) that ends in 5 maps of
# 96×96. These are not heat maps: they are flattened into 46,080 numbers and read by a dense
# head, dropout (keep 0.75), 500 $\tanh$ units, dropout (keep 0.9), 30 $\tanh$ outputs. Every
# activation is $\tanh$, there is no normalisation, and it trained with the plain squared error
# by gradient descent (learning rate 0.01, batches of 100). The course does not train it; the
# cell after the counts below prints its size from the post's layer list.
#
# Here the hidden layers use ReLU; the $\tanh$ stays on the dense output of the plain encoder,
# whose targets are in $[-1, 1]$ (the soft-argmax needs no squashing: its output is a weighted
# mean of pixel positions). The plain encoder's dense layer is normalised too: it reads every
# value of the 12×12 maps, and without normalisation Adam's first steps can push the $\tanh$
# into saturation, where its gradient vanishes and training stalls with every point on the
# image border.

# %%
builders = {"plain": models.plain_encoder, "SumNet": models.sumnet, "RCN": models.recombinator}
probes = {name: build() for name, build in builders.items()}  # untrained, for counting
counts = {name: opcount.count_ops(model) for name, model in probes.items()}
for name, c in counts.items():
    print(f"{name:7s} {c.params:>9,} parameters {c.macs / 1e6:8.1f} M MACs per face",
          f"({len(c.not_counted)} layers not counted)")
counts["RCN"]

# %% [markdown]
# Check the counts independently: the parameters against Keras's own `count_params`, and the
# MACs against the hand formula $k^2\,H\,W\,C_{in}\,C_{out}$ (`opcount.conv_macs`) for every
# convolution plus $n_{in} n_{out}$ for dense layers and one per value for batch normalisation.

# %%
rcn_probe = probes["RCN"]
by_formula = 0
for layer in rcn_probe.layers:
    if isinstance(layer, keras.layers.Conv2D):
        _, h, w, c_in = layer.input.shape
        by_formula += opcount.conv_macs(h, w, c_in, layer.filters, layer.kernel_size)
    elif isinstance(layer, keras.layers.Dense):
        by_formula += int(np.prod(layer.input.shape[1:])) * layer.units
    elif isinstance(layer, keras.layers.BatchNormalization):
        by_formula += int(np.prod(layer.output.shape[1:]))
print(f"RCN MACs: opcount {counts['RCN'].macs:,}, by formula {by_formula:,}")
print(f"RCN parameters: opcount {counts['RCN'].params:,}, Keras {rcn_probe.count_params():,}")
assert counts["RCN"].macs == by_formula and counts["RCN"].params == rcn_probe.count_params()
assert all(c.params == probes[n].count_params() for n, c in counts.items())

# %% [markdown]
# The source post's model, from its layer list: each 3×3 convolution has $9\,C_{in} C_{out}$
# weights and $C_{out}$ biases, each dense layer $n_{in} n_{out} + n_{out}$. Almost all of it is
# the first dense layer, which reads the 46,080 decoder outputs.

# %%
source_convs = [(1, 16), (16, 32), (32, 48), (48, 48),  # encoder at 96, 48, 24, 12 px
                (96, 48), (48, 32), (64, 32), (32, 16), (32, 16), (16, 5)]  # decoder 24, 48, 96
source_dense = [(96 * 96 * 5, 500), (500, 30)]
source_params = (sum(9 * c_in * c_out + c_out for c_in, c_out in source_convs)
                 + sum(n_in * n_out + n_out for n_in, n_out in source_dense))
print(f"the post's model: {source_params:,} parameters, "
      f"{source_dense[0][0] * source_dense[0][1] + source_dense[0][1]:,} of them in its first "
      f"dense layer; the RCN here: {counts['RCN'].params:,}")

# %% [markdown]
# ## 7. Receptive fields
#
# A unit of a feature map sees a square of the input, its **receptive field**. Walking through
# the layers, a $k\times k$ convolution widens it by $(k-1)\,j$ and a 2×2 pooling by $j$, where
# $j$ (the *jump*) is the distance in input pixels between neighbouring units, doubled by each
# pooling. The recursion gives:

# %%
fields = models.receptive_fields()
print("receptive field of one unit:", {f"{s}×{s} map": f"{rf} px" for s, rf in fields.items()})


# %% [markdown]
# Measure it instead: build the same stack of 3×3 convolutions and 2×2 poolings with all weights
# equal to one (average pooling, so that the gradient reaches every input of a window, which
# covers the same square as max-pooling), and look at which input pixels the gradient of one
# central unit touches.


# %%
def measured_field(size):
    inp = keras.Input((SIZE, SIZE, 1))
    x = inp
    for i, s in enumerate((96, 48, 24, 12)):
        if i:
            x = keras.layers.AveragePooling2D(2)(x)
        for _ in range(models.COARSE_CONVS if s == 12 else 1):
            x = keras.layers.Conv2D(1, 3, padding="same", kernel_initializer="ones")(x)
        if s == size:
            break
    probe = keras.Model(inp, x)
    image = tf.Variable(np.ones((1, SIZE, SIZE, 1), np.float32))
    with tf.GradientTape() as tape:
        unit = probe(image)[0, size // 2, size // 2, 0]
    touched = np.argwhere(tape.gradient(unit, image).numpy()[0, :, :, 0] != 0)
    return int(touched[:, 0].max() - touched[:, 0].min() + 1)


measured = {s: measured_field(s) for s in fields}
print("measured through the gradient:", measured)
assert measured == fields

# %% [markdown]
# Drawn on a face, centred on the left eye: a unit of the 96×96 encoder map sees a tiny patch,
# far too little to tell an eye from a blob in the background; a 12×12 unit sees most of the
# face, but neighbouring 12×12 units are 8 pixels apart. SumNet's finest branch adds one 3×3
# convolution at full resolution and still sees only a few pixels; in the recombinator the
# 96×96 decoder layer also receives the upsampled 12×12 context.

# %%
face = 3
eye = k_train[face, :2]
plots.receptive_field_figure(x_train[face], eye, fields,
                             title="receptive field of one unit at each scale")
plt.show()
print(f"SumNet's 96×96 branch: {fields[96] + 2}×{fields[96] + 2} px;",
      f"the 12×12 encoder: {fields[12]}×{fields[12]} px of a {SIZE}×{SIZE} image")

# %% [markdown]
# ## 8. Training the three models on equal terms
#
# Same training faces, same test faces, same loss (`masked_mse` on scaled targets), same
# optimiser (Adam, learning rate decaying along a cosine), same number of gradient steps and
# batch size. `train` takes the builder (`models.sumnet`, not `models.sumnet()`) and builds the
# model right after setting the seed, so every model starts from weights that depend on the
# seed alone, not on what the cells above happened to draw. The test error is measured in
# pixels after each stretch of steps.
#
# **The baseline.** A model that learned nothing from the picture could still answer with the
# average training face, the same 15 points for every test face. That error is the one to beat:
# a model above it has not yet learned to use the image.

# %%
average_face = k_train.mean(axis=0)
baseline = rmse_pixels(np.broadcast_to(average_face, k_test.shape), k_test)
print(f"average training face on the {N_TEST} test faces: RMSE {baseline:.2f} px")
report.record(NOTEBOOK, "average-face baseline test RMSE", baseline, "px")

# %% [markdown]
# Quick mode's runs are too short to rank the models against each other: beside each quick
# result the lesson prints the full-mode result of a recorded reference run (the file
# `course/reference/08_recombinator_networks_full.json`, with the run's hardware and date).

# %%
reference = report.reference_run(NOTEBOOK)
full_run = reference.text  # full_run("RCN test RMSE") -> "1.49 px", or "not recorded"
print(reference.describe())

# %%
y_train = scale_targets(k_train)
runs = {}
for name, build in builders.items():
    runs[name] = train(build, x_train, y_train, x_test, k_test, steps=STEPS, batch_size=BATCH,
                       lr=LR, evals=EVALS, seed=SEED)
    print(f"{name:7s} test RMSE {runs[name].val_rmse[-1]:6.2f} px after {STEPS} steps, "
          f"{runs[name].seconds:5.1f} s of training (full reference run: "
          f"{full_run(f'{name} test RMSE')})")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, run in runs.items():
    steps_axis = np.linspace(STEPS / EVALS, STEPS, len(run.val_rmse))
    ax.plot(steps_axis, run.val_rmse, "o-", label=name)
ax.axhline(baseline, color="grey", linestyle="--", label="average training face")
ax.set_xlabel(f"gradient steps (batch of {BATCH})")
ax.set_ylabel("test RMSE (pixels)")
ax.set_yscale("log")
ax.set_title("learning curves on held-out faces")
ax.legend()
plt.show()

# %% [markdown]
# The headline numbers: RMSE over every coordinate in pixels, and the **inter-ocular normalised
# error**, the mean point-to-point distance divided by the distance between the eye centres (a
# measure that does not depend on how large the face is in the picture).

# %%
preds = {name: predict_pixels(run.model, x_test) for name, run in runs.items()}
for name, pred in preds.items():
    rmse, ioe = rmse_pixels(pred, k_test), interocular_error(pred, k_test)
    print(f"{name:7s} RMSE {rmse:6.2f} px   inter-ocular error {ioe:.3f}   "
          f"training {runs[name].seconds:5.1f} s")
    report.record(NOTEBOOK, f"{name} test RMSE", rmse, "px")
    report.record(NOTEBOOK, f"{name} inter-ocular error", ioe, "")
    report.record(NOTEBOOK, f"{name} training time", runs[name].seconds, "s")

# %% [markdown]
# Check the RMSE against a direct NumPy computation, and the comparison the lesson is about.

# %%
rmse = {name: rmse_pixels(pred, k_test) for name, pred in preds.items()}
direct = float(np.sqrt(np.mean((preds["RCN"] - k_test) ** 2)))
print(f"RCN RMSE {rmse['RCN']:.4f} px, directly {direct:.4f} px")
assert_close("rmse_pixels vs NumPy", rmse["RCN"], direct, tol=1e-5, relative=True)  # summed in another order


# %%
def below_or_above(a, b):
    """How a compares with b, in words: "12% below" or "3% above"."""
    return f"{abs(1 - a / b):.0%} {'below' if a <= b else 'above'}"


# %%
reduction = 1 - rmse["RCN"] / rmse["plain"]
print(f"the recombinator's error is {below_or_above(rmse['RCN'], rmse['plain'])} the plain "
      f"encoder's, {below_or_above(rmse['RCN'], rmse['SumNet'])} SumNet's, "
      f"{below_or_above(rmse['RCN'], baseline)} the average face's")
report.record(NOTEBOOK, "RCN error reduction vs plain", 100 * reduction, "%")
assert rmse["RCN"] < rmse["plain"], "the recombinator should be ahead of the plain encoder"
if QUICK:
    print(f"quick mode ({STEPS} steps) does not settle how the models rank; the full reference "
          "run: " + ", ".join(f"{name} {full_run(f'{name} test RMSE')}" for name in builders))

# %% [markdown]
# One run is one draw. `SEED` fixes the initial weights and the order of the batches, and
# another seed gives every model a different error. Before reading a gap between two models,
# such as the one between RCN and SumNet, as a property of the models, measure how far the
# seed alone moves each of them: set `SEED = 1` in the parameters cell, run the lesson again
# and compare. A gap smaller than that movement is not settled by one run.
#
# ### The paper's training and read-out, on the same budget
# SumNet once more, from the same initial weights, on the same faces, steps, batches and
# learning rate, but trained the paper's way: the negative log-likelihood of the true pixel
# under the softmax over positions (`train(..., loss="nll")` cuts the soft-argmax head off and
# trains the heat maps), read out by the argmax.

# %%
paper_run = train(models.sumnet, x_train, y_train, x_test, k_test, steps=STEPS, batch_size=BATCH,
                  lr=LR, evals=EVALS, seed=SEED, loss="nll")
paper_rmse = paper_run.val_rmse[-1]
print(f"SumNet, the paper's way (log-likelihood, argmax): {paper_rmse:.2f} px; "
      f"this course's (squared error, soft-argmax): {rmse['SumNet']:.2f} px; "
      f"{below_or_above(paper_rmse, rmse['SumNet'])}, after {STEPS} steps each")
report.record(NOTEBOOK, "SumNet paper training (NLL, argmax) test RMSE", paper_rmse, "px")
if QUICK:
    print(f"quick mode does not settle which way is better; the full reference run: the paper's "
          f"{full_run('SumNet paper training (NLL, argmax) test RMSE')}, the soft-argmax "
          f"{full_run('SumNet test RMSE')}")

# %% [markdown]
# ## 9. Looking at the predictions
#
# Dots are the true points, crosses the predictions, yellow lines the errors.

# %%
show = np.arange(4)
fig, axes = plt.subplots(len(builders), len(show), figsize=(2.3 * len(show), 2.4 * len(builders)))
for row, (name, pred) in zip(axes, preds.items(), strict=True):
    for ax, i in zip(row, show, strict=True):
        err = rmse_pixels(pred[i:i + 1], k_test[i:i + 1])
        plots.show_prediction(ax, x_test[i], k_test[i], pred[i], f"{name}: {err:.1f} px")
fig.suptitle("test faces: truth (dots) and predictions (crosses)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Which points are hard? The error of each keypoint, per model:

# %%
per_point = {name: per_keypoint_rmse(pred, k_test) for name, pred in preds.items()}
fig, ax = plt.subplots(figsize=(9, 3.5))
plots.per_keypoint_bars(ax, per_point, "test RMSE per keypoint")
plt.show()
hardest = KEYPOINT_NAMES[int(np.argmax(per_point["RCN"]))]
print(f"the recombinator's hardest point: {hardest} ({per_point['RCN'].max():.2f} px)")

# %% [markdown]
# ### The heat maps
# The idea of the lesson, drawn. Each of SumNet's four scales proposes its own map of scores
# for a point (here the nose tip), upsampled to 96×96: the 12×12 branch comes in blocks of 8×8
# pixels, the 96×96 branch is sharp but its units see only a few pixels. SumNet adds the four
# and takes the softmax; no branch sees what the others propose.

# %%
face, point = 0, KEYPOINT_NAMES.index("nose_tip")
image = x_test[face:face + 1]
only_point = np.where(np.repeat(np.arange(len(KEYPOINT_NAMES)), 2) == point, k_test[face], np.nan)
sumnet_model = runs["SumNet"].model
branches = keras.Model(sumnet_model.input, [sumnet_model.get_layer(name).output
                                            for name in ("up12", "up24", "up48", "heat96")])
scale_maps = {f"{s}×{s} branch: scores": keras.ops.convert_to_numpy(m)[0, :, :, point]
              for s, m in zip((12, 24, 48, 96), branches(image, training=False), strict=True)}
summed = sum(scale_maps.values())
heat_sumnet = keras.ops.convert_to_numpy(models.heat_map_model(sumnet_model)(image, training=False))
assert_close("the four branches summed vs SumNet's heat map", summed,
             heat_sumnet[0, :, :, point], tol=1e-4)
scale_maps["sum → softmax: probability"] = softmax_grid(summed)
plots.heat_map_figure(x_test[face], scale_maps, only_point,
                      title=f"SumNet, test face {face}: where is the {KEYPOINT_NAMES[point]}?")
plt.show()

# %% [markdown]
# The recombinator has one map per point at the end of its decoder, computed from fine and
# coarse features together. Below, for the same face, each model's probability maps of all 15
# points added into one picture (a sharp peak per point is a confident model), with SumNet
# trained the paper's way beside it.

# %%
heat = {name: models.heat_map_model(runs[name].model) for name in ("SumNet", "RCN")}
heat["SumNet, the paper's way"] = paper_run.model  # already the heat-map model
probability = {f"{name}: p, 15 points": softmax_grid(np.moveaxis(
    keras.ops.convert_to_numpy(model(image, training=False))[0], -1, 0)).sum(axis=0)
    for name, model in heat.items()}
plots.heat_map_figure(x_test[face], probability, k_test[face],
                      title=f"test face {face}: probability maps (dots: the true points)")
plt.show()

# %% [markdown]
# ## 10. Missing labels: mask them, or drop the faces?
#
# Now train on the competition's pattern of labels, on the first `N_MISSING` training faces:
# about 30% of them complete, the others with four points. The question is about the loss, not
# the decoder, so we use SumNet, the cheaper of the two heat-map models. Two ways, with the same
# number of gradient steps:
# - **drop** every incomplete face (what the post's `dropna` does) and train on the rest;
# - keep every face and train with the **masked** loss.

# %%
x_kaggle, y_kaggle = x_train[:N_MISSING], scale_targets(k_kaggle)
keep = ~np.isnan(k_kaggle).any(axis=1)
missing_runs = {
    "drop incomplete faces": train(models.sumnet, x_kaggle[keep], y_kaggle[keep], x_test, k_test,
                                   steps=MISSING_STEPS, batch_size=BATCH, lr=LR, evals=EVALS,
                                   seed=SEED),
    "masked loss, all faces": train(models.sumnet, x_kaggle, y_kaggle, x_test, k_test,
                                    steps=MISSING_STEPS, batch_size=BATCH, lr=LR, evals=EVALS,
                                    seed=SEED),
}
four = np.isin(np.repeat(KEYPOINT_NAMES, 2), KAGGLE_PARTIAL_POINTS)  # their x and y columns
for name, run in missing_runs.items():
    pred = predict_pixels(run.model, x_test)
    print(f"{name:24s} test RMSE {run.val_rmse[-1]:6.2f} px: "
          f"{rmse_pixels(np.where(four, pred, np.nan), np.where(four, k_test, np.nan)):.2f} px on "
          f"the 4 points every face has, "
          f"{rmse_pixels(np.where(four, np.nan, pred), np.where(four, np.nan, k_test)):.2f} px on "
          "the other 11")
dropped, masked = (run.val_rmse[-1] for run in missing_runs.values())
report.record(NOTEBOOK, "missing labels: dropped rows RMSE", dropped, "px")
report.record(NOTEBOOK, "missing labels: masked loss RMSE", masked, "px")
print(f"the masked loss is {below_or_above(masked, dropped)} dropping rows; both against the "
      f"average face ({baseline:.2f} px): dropped {below_or_above(dropped, baseline)}, "
      f"masked {below_or_above(masked, baseline)}")
if QUICK:
    print(f"quick mode ({MISSING_STEPS} steps) does not settle which way is better; the full "
          f"reference run: dropped {full_run('missing labels: dropped rows RMSE')}, masked "
          f"{full_run('missing labels: masked loss RMSE')}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, run in missing_runs.items():
    ax.plot(np.linspace(MISSING_STEPS / EVALS, MISSING_STEPS, len(run.val_rmse)), run.val_rmse,
            "o-", label=f"{name} ({(keep.sum() if 'drop' in name else N_MISSING)} faces)")
ax.set_xlabel(f"gradient steps (batch of {BATCH})")
ax.set_ylabel("test RMSE (pixels)")
ax.axhline(baseline, color="grey", linestyle="--", label="average training face")
ax.set_title("SumNet trained on incomplete labels")
ax.legend()
plt.show()

# %% [markdown]
# ## 11. The source post's code, checked
#
# Some of the source post's code does not do what its text says. None of it changes the idea
# of the paper, but each changes what the post's numbers and pictures mean.
#
# - **Dropout left on at prediction.** `build` takes `dropout_keep_prob=0.75` as its default
#   and always applies `tf.nn.dropout(..., 0.9)` after the first dense layer; the prediction
#   cell calls `model.build(in_images)` with no argument, so its predictions are made with
#   dropout on: every call gives the same face a different answer.
# - **A variable called `relu` holds $\tanh$**: `relu = tf.nn.tanh(bias)` in `conv_layer`.
#   Every convolution is $\tanh$, as the text says, under a misleading name.
# - **Epochs.** The text reports the error "after the end of 10000 epochs"; the training cell
#   sets `num_epochs = 100` (the shape-printing cell before it sets 400, with a learning rate of
#   0.0001 against the training cell's 0.01). The prediction cell restores `model_l30.ckpt`, a
#   file the training cell never writes (it saves `model.ckpt`), and draws the first 16
#   *training* faces (`X[:16]`): the pictures come from a run the post does not show, on faces
#   that run was trained on.
# - **ReLU's range.** The text says that ReLU "output values between 0 and +1". ReLU is
#   $\max(0, z)$: its outputs are $[0, \infty)$. What rules it out as the output for targets in
#   $[-1, 1]$ is the missing negative half.
#
# The last one, measured:

# %%
z = np.array([-2.0, -0.5, 0.0, 0.5, 3.0, 40.0], np.float32)
relu_z = keras.ops.convert_to_numpy(keras.activations.relu(z))
print("z       ", z)
print("relu(z) ", relu_z, "(unbounded above, never negative)")
print("tanh(z) ", np.round(np.tanh(z), 3), "(in (-1, 1))")
assert relu_z.max() == z.max() and relu_z.min() == 0

# %% [markdown]
# And dropout at prediction, on this lesson's plain encoder: its dense head run on the test
# faces with the post's dropout (keep 0.75 of the flattened features, 0.9 of the hidden units,
# the kept ones scaled up as `tf.nn.dropout` does), twice. The plain encoder was trained
# without dropout, so the rise in error overstates what the post's model lost; the movement
# between two calls on the same face is what any model with dropout on at prediction shows.

# %%
plain_model = runs["plain"].model
features = keras.Model(plain_model.input, plain_model.get_layer("flatten").output)(
    x_test, training=False)


def plain_head(keep_features, keep_hidden, seed):
    """The plain encoder's dense head, in pixels, with dropout on (keep = 1: off)."""
    z = keras.random.dropout(features, 1 - keep_features, seed=seed)
    for name in ("hidden", "hidden_bn", "hidden_relu"):
        z = plain_model.get_layer(name)(z, training=False)
    z = keras.random.dropout(z, 1 - keep_hidden, seed=seed + 1)
    return unscale_targets(keras.ops.convert_to_numpy(plain_model.get_layer("keypoints")(z)))


off = plain_head(1.0, 1.0, seed=0)
first, second = plain_head(0.75, 0.9, seed=1), plain_head(0.75, 0.9, seed=2)
assert_close("the head rebuilt, dropout off, vs predict_pixels (px)", off,
             predict_pixels(plain_model, x_test), tol=1e-3)
moved = np.linalg.norm((first - second).reshape(-1, 2), axis=1)
print(f"plain encoder, test RMSE: dropout off {rmse_pixels(off, k_test):.2f} px; dropout on "
      f"{rmse_pixels(first, k_test):.2f} px and {rmse_pixels(second, k_test):.2f} px in two calls")
print(f"between the two calls a point moves by {moved.mean():.2f} px on average "
      f"(at most {moved.max():.1f} px)")

# %% [markdown]
# ## 12. Explore: any test face, any model
#
# Pick a face and a model; the bars show the error of each keypoint on that face.


# %%
def explore(face=0, model="RCN"):
    fig, (ax_img, ax_bar) = plt.subplots(1, 2, figsize=(10, 3.8),
                                         gridspec_kw={"width_ratios": [1, 1.6]})
    pred = preds[model][face]
    err = np.linalg.norm((pred - k_test[face]).reshape(-1, 2), axis=1)
    face_rmse = rmse_pixels(pred[None], k_test[face][None])
    plots.show_prediction(ax_img, x_test[face], k_test[face], pred,
                          f"{model}, face {face}: RMSE {face_rmse:.2f} px")
    ax_bar.bar(range(len(err)), err, color="tab:purple")
    ax_bar.set_xticks(range(len(err)), [n.replace("_", " ") for n in KEYPOINT_NAMES],
                      rotation=60, ha="right", fontsize=8)
    ax_bar.set_ylabel("distance to the truth (pixels)")
    ax_bar.set_title("error of each keypoint")
    fig.tight_layout()
    plt.show()


interact.show(
    explore,
    face=widgets.IntSlider(value=0, min=0, max=N_TEST - 1, description="test face",
                           continuous_update=False),
    model=widgets.Dropdown(options=list(preds), value="RCN", description="model"),
)

# %% [markdown]
# ## The goals
#
# Checked last, so that every figure above is drawn even when a goal is missed. In every mode,
# quick included: each trained model ahead of the average training face. In full mode also: the
# recombinator at most 2 pixels RMSE, at least 30% below the plain encoder and below SumNet,
# and the masked loss ahead of dropping incomplete faces.

# %%
trained = {**rmse, "SumNet, the paper's way": paper_rmse, "missing labels, dropped rows": dropped,
           "missing labels, masked loss": masked}
for name, error in trained.items():
    print(f"{'ahead ' if error < baseline else 'BEHIND'} of the average face ({baseline:.2f} px): "
          f"{name} {error:.2f} px")
goals = {
    "RCN RMSE <= 2.0 px": rmse["RCN"] <= 2.0,
    "RCN at least 30% below the plain encoder": reduction >= 0.30,
    "RCN below SumNet": rmse["RCN"] < rmse["SumNet"],
    "masked loss below dropped rows": masked < dropped,
}
for goal, met in goals.items():
    print(f"{'met   ' if met else 'MISSED'} {goal}")
lesson_minutes = (time.perf_counter() - lesson_start) / 60
print(f"the whole lesson so far: {lesson_minutes:.1f} minutes "
      f"({sum(run.seconds for run in [*runs.values(), paper_run, *missing_runs.values()]) / 60:.1f}"
      " of them "
      "training)")
report.record(NOTEBOOK, "lesson time up to the goals", lesson_minutes, "min")
behind = [name for name, error in trained.items() if not error < baseline]
assert not behind, f"not ahead of the average face: {', '.join(behind)}"
if CHECK_GOALS:
    assert all(goals.values()), "missed: " + ", ".join(g for g, met in goals.items() if not met)

# %% [markdown]
# ## Summary
#
# - Locating a keypoint needs detail *and* context. An encoder of convolutions and poolings
#   (96 → 48 → 24 → 12) gains context and loses position; its receptive field grows from a
#   few pixels to most of the face.
# - The **recombinator** upsamples the coarse maps (`UpSampling2D`, the same as repeating rows
#   and columns) and concatenates them with the fine maps, so fine features are computed with
#   the context; **SumNet** only adds the per-scale answers at the end.
# - One heat map per keypoint and a softmax over positions. The paper trains it with the
#   log-likelihood of the true pixel and reads the argmax; this course reads the expected
#   position, the **soft-argmax** (a matrix product with the pixel coordinates), which is
#   differentiable and sub-pixel. Both were trained on the same budget above.
# - Trained on the same faces with the same budget, the models were compared in pixels and in
#   inter-ocular error, against the average training face (the numbers above, recorded with
#   `dlcourse.report`; quick mode's short runs do not rank the models, the full reference run
#   does).
# - The source post's model is a recombinator decoder read by a dense $\tanh$ head; its one
#   number is a training-set error, and its pictures were made with dropout on.
# - With labels missing as in the real data, a **masked loss** learns from every face instead of
#   throwing 70% of them away.

# %% [markdown]
# ## References
#
# - S. Honari, J. Yosinski, P. Vincent, C. Pal (2016). Recombinator networks: learning coarse-to-fine feature aggregation. CVPR. [arXiv:1511.07356](https://arxiv.org/abs/1511.07356)
# - Kaggle (2013). [Facial Keypoints Detection](https://www.kaggle.com/c/facial-keypoints-detection) (the data the source post used).
# - J. Long, E. Shelhamer, T. Darrell (2015). Fully convolutional networks for semantic segmentation (the skip connections SumNet follows). [arXiv:1411.4038](https://arxiv.org/abs/1411.4038)
