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
# # 00 · Setup and hardware check
#
# Before building networks by hand, find out what you are building them on.
#
# **You will learn**
# - which Python, NumPy, TensorFlow and Keras this course runs on, and whether TensorFlow sees a GPU;
# - where the course keeps its datasets and weights, and what is already there;
# - how many floating-point operations a matrix product costs, and how many per second this
#   machine delivers: the yardstick every later speed measurement is compared with.
#
# **Time**: quick mode about 20 s, full mode about a minute.

# %%
import os
import platform

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display
from tqdm.auto import tqdm

import dlcourse
from dlcourse import checks, config, data, hardware, interact, report, timing

# %% tags=["parameters"]
QUICK = config.quick_mode()  # DLCOURSE_QUICK=1: quick mode (small sizes); 0 or unset: full
MATMUL_SIZES = [64, 128, 256, 512] if QUICK else [64, 128, 256, 512, 1024, 2048, 4096]
REPEAT = 2 if QUICK else 5

# %% [markdown]
# ## 1. Versions
#
# The course pins every version (see `pyproject.toml`); results in the lessons were checked
# with exactly these. TensorFlow is imported here, once: importing it takes a few seconds.

# %%
import keras
import tensorflow as tf

versions = {
    "Python": platform.python_version(),
    "NumPy": np.__version__,
    "TensorFlow": tf.__version__,
    "Keras": keras.__version__,
    "dlcourse": dlcourse.__version__,
}
for name, version in versions.items():
    print(f"{name:<11} {version}")
assert tf.__version__.startswith("2.21"), "this course is validated with TensorFlow 2.21"
assert keras.__version__.startswith("3."), "this course uses Keras 3"

# %% [markdown]
# ## 2. Is there a GPU?
#
# TensorFlow runs every operation on a GPU when it sees one, and on the CPU otherwise. Full
# mode of the training lessons is meant for a GPU; quick mode always runs on a CPU.
# (On a cloud GPU machine, see `remote/README.md`.)

# %%
gpu_devices = tf.config.list_physical_devices("GPU")
print(f"CPU: {hardware.cpu_model()} ({hardware.cpu_count()} cores available)")
if gpu_devices:
    for device, info in zip(gpu_devices, hardware.gpus(), strict=False):
        memory = f"{info['memory_mib'] / 1024:.1f} GiB" if info["memory_mib"] else "unknown memory"
        print(f"GPU: {info['name']} with {memory}  (TensorFlow device {device.name})")
else:
    print("No GPU visible to TensorFlow: everything runs on the CPU.")

# %% [markdown]
# ## 3. Where data and weights live
#
# Every file the course downloads is listed in `data/manifest.json` with its public address and
# checksum. Downloads are cached in `data/`; on a machine without internet, set
# `DLCOURSE_DATA_MIRROR` to a folder holding the files, or run `make data` on a connected
# machine first. Keras keeps its own downloads in `~/.keras`.

# %%
data.print_status()
print(f"Keras cache: {os.path.expanduser(os.path.join('~', '.keras'))}")

# %% [markdown]
# ### Inside an MNIST file
#
# MNIST ships in the IDX format, simple enough to read by hand: two zero bytes, one byte
# for the element type (`0x08` = unsigned byte), one byte for the number of dimensions $d$,
# then $d$ sizes as big-endian 32-bit integers, then the pixels row by row.
# `dlcourse.data.read_idx` does exactly this; here are the first 16 bytes of the test images.

# %%
import gzip

try:
    images_path = data.fetch_one("mnist", "t10k-images-idx3-ubyte.gz")
    labels_path = data.fetch_one("mnist", "t10k-labels-idx1-ubyte.gz")
except data.MissingDataError as err:
    images_path = None
    print(f"MNIST is not available on this machine, so this section is skipped.\n{err}")

if images_path:
    with gzip.open(images_path, "rb") as f:
        header = f.read(16)
    print("first 16 bytes:", header.hex(" "))
    dims = np.frombuffer(header, ">i4", count=3, offset=4)
    print(f"type byte 0x{header[2]:02x}, {header[3]} dimensions, sizes {dims.tolist()}")
    images, labels = data.read_idx(images_path), data.read_idx(labels_path)
    assert images.shape == tuple(dims) and images.dtype == np.uint8

# %%
if images_path:
    fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
    for ax, image, label in zip(axes, images, labels, strict=False):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(f"label {label}", fontsize=9)
        ax.axis("off")
    fig.suptitle("The first ten MNIST test digits (28 × 28 pixels, values 0–255)")
    plt.show()

# %% [markdown]
# ## 4. What a matrix product costs
#
# The product $C = AB$ of an $m\times k$ matrix by a $k\times n$ matrix computes each of the
# $mn$ entries $C_{ij} = \sum_{l=1}^{k} A_{il}B_{lj}$: $k$ multiplications and $k$ additions
# (one *multiply-accumulate*, MAC, per term). So it costs
#
# $$\text{FLOPs}(m, k, n) = 2\,m\,k\,n .$$
#
# Dividing by the measured time gives the achieved rate in FLOP/s; turned around, a rate
# predicts a time. That is the use of the yardstick: before running something big, know
# roughly how long it will take.

# %% [markdown]
# ## 5. Measuring this machine
#
# We time $n\times n$ products with NumPy and with TensorFlow (on the CPU, and on the GPU when
# there is one), take the best of several repeats (noise only ever adds time), and check that
# every backend computes the same product.


# %%
def tf_matmul_seconds(a, b, device):
    with tf.device(device):
        ta, tb = tf.constant(a), tf.constant(b)
        # .numpy() waits for the GPU to finish: without it we would time only the launch.
        return timing.best_time(lambda: tf.matmul(ta, tb).numpy(), repeat=REPEAT)


devices = {"NumPy (CPU)": None, "TensorFlow CPU": "/CPU:0"}
if gpu_devices:
    devices["TensorFlow GPU"] = "/GPU:0"

rng = np.random.default_rng(0)
gflops = {name: [] for name in devices}
for n in tqdm(MATMUL_SIZES, desc="matrix sizes"):
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    reference = a @ b
    for name, device in devices.items():
        if device is None:
            seconds = timing.best_time(lambda: a @ b, repeat=REPEAT)  # noqa: B023 (called at once)
        else:
            seconds = tf_matmul_seconds(a, b, device)
            with tf.device(device):
                error = np.abs(tf.matmul(a, b).numpy() - reference).max()
            assert error < 1e-3 * np.sqrt(n), f"{name} disagrees with NumPy by {error}"
        gflops[name].append(timing.matmul_flops(n, n, n) / seconds / 1e9)

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, rates in gflops.items():
    ax.plot(MATMUL_SIZES, rates, "o-", label=name)
ax.set_xscale("log", base=2)
ax.set_xlabel("matrix size n (n × n times n × n, float32)")
ax.set_ylabel("achieved GFLOP/s")
ax.set_title("Matrix-product speed on this machine")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# Small products are slow per FLOP: the fixed cost of a call (and, on a GPU, of launching a
# kernel) dominates. Large products approach the hardware's peak. Keep this curve in mind:
# lesson 01 turns a convolution into one large matrix product precisely to land on its right end.

# %%
best_cpu = max(gflops["NumPy (CPU)"])
print(f"best CPU rate (NumPy): {best_cpu:.1f} GFLOP/s")
report.record("00_setup", "CPU matmul float32", best_cpu, "GFLOP/s")
if "TensorFlow GPU" in gflops:
    best_gpu = max(gflops["TensorFlow GPU"])
    print(f"best GPU rate: {best_gpu:.1f} GFLOP/s, {best_gpu / best_cpu:.0f}× the CPU")
    report.record("00_setup", "GPU matmul float32", best_gpu, "GFLOP/s")

# %% [markdown]
# ### Exercise: predict a time from the rate
#
# Complete `predict_seconds(m, k, n, gflops)`: how many seconds an $(m\times k)\cdot(k\times n)$
# product should take on a machine that sustains `gflops` GFLOP/s. Then we test your
# prediction against this machine.


# %%
def predict_seconds(m, k, n, gflops):
    """Seconds an (m×k)·(k×n) product should take at ``gflops`` GFLOP/s."""
    # BEGIN SOLUTION
    # HINT: count the FLOPs of the product first (section 4); a rate of g GFLOP/s means g·10⁹ per second
    return 2 * m * k * n / (gflops * 1e9)
    # END SOLUTION


# %%
checks.check_function(
    "predict_seconds",
    predict_seconds,
    [
        checks.Case((1000, 1000, 1000, 2.0), 1.0),
        checks.Case((2, 3, 4, 48e-9), 1.0),
        checks.Case((512, 512, 512, 268.435456), 1e-3),
        checks.Case((100, 10, 1, 1.0), 2e-6),
    ],
    hint="FLOPs = 2·m·k·n, and 1 GFLOP/s is 10⁹ FLOP per second",
)

# %% [markdown]
# Now the prediction meets the machine. From the best rate measured above we predict a
# square product of the largest size measured, and a tall, thin one with the same FLOP
# count (using the package's FLOP count, so an unfinished exercise cannot spoil this part).
# The two are timed in alternation, so that load on a shared machine hits both alike.

# %%
n = MATMUL_SIZES[-1]
shapes = {"square": (n, n, n), "tall and thin": (64 * n, n // 64, n)}
operands = {label: (rng.standard_normal((m, k), dtype=np.float32),
                    rng.standard_normal((k, c), dtype=np.float32))
            for label, (m, k, c) in shapes.items()}
measured = {label: float("inf") for label in shapes}
for _ in range(REPEAT):
    for label, (a, b) in operands.items():
        seconds = timing.best_time(lambda: a @ b, repeat=1)  # noqa: B023 (called at once)
        measured[label] = min(measured[label], seconds)
for label, (m, k, c) in shapes.items():
    predicted = timing.matmul_flops(m, k, c) / (best_cpu * 1e9)
    print(f"{label:>13} ({m}×{k})·({k}×{c}): predicted {predicted * 1e3:7.2f} ms, "
          f"measured {measured[label] * 1e3:7.2f} ms ({measured[label] / predicted:.2f}×)")
thin_speed = measured["square"] / measured["tall and thin"]
print(f"with the same FLOPs, the thin product ran at {thin_speed:.0%} of the square one's speed")

# %% [markdown]
# On a quiet machine the square product lands near its prediction (the rate came from
# square products); on a busy one both take longer than predicted, which is why the course
# compares methods measured in the same run. The thin product does the same number of
# FLOPs, yet typically runs well below the square one's speed (the line above says by how
# much here): with an inner dimension of only $n/64$, each number loaded from memory is
# reused a few times only, so memory traffic, not arithmetic, sets the pace. The rate is a
# yardstick, not a promise; the *shape* of a product matters, which is why lesson 01
# arranges a convolution as one large, well-shaped product.

# %% [markdown]
# ### Try it
# Move the slider to time one product of the chosen size with NumPy.

# %%
import ipywidgets as widgets


def time_one_product(log2_n=9):
    n = 2**log2_n
    a = rng.standard_normal((n, n), dtype=np.float32)
    seconds = timing.best_time(lambda: a @ a, repeat=1)
    print(
        f"n = {n}: {seconds * 1e3:.2f} ms per product, "
        f"{timing.matmul_flops(n, n, n) / seconds / 1e9:.1f} GFLOP/s"
    )


interact.show(
    time_one_product,
    log2_n=widgets.IntSlider(value=8, min=4, max=11, description="log₂ n", continuous_update=False),
)

# %% [markdown]
# ## Then and now
# In TensorFlow 1.x the same measurement needed a graph and a session:
# ```python
# a = tf.placeholder(tf.float32, [n, n])        # TF 1.x
# c = tf.matmul(a, a)
# with tf.Session() as sess:
#     sess.run(tf.initialize_all_variables())
#     sess.run(c, feed_dict={a: value})
# ```
# TensorFlow 2 runs eagerly: `tf.matmul(a, a)` computes at once, and `tf.function` builds a
# graph only when you ask for one.
#
# **Getting a GPU, then and now.** The posts this course grew from include a weekend's worth of
# GPU set-up notes (autumn 2016, Ubuntu 14.04, a GTX 1060): purge old NVIDIA drivers and
# kernel modules, install the CUDA 8.0 release candidate (the 10-series cards needed it, and
# TensorFlow's own packages did not support it yet), copy cuDNN 5.1 into the CUDA folders by
# hand, install the 367.44 driver, then install Bazel and Java and build TensorFlow 0.10 from
# source, patching bugs in its code, into a conda environment. None of that is needed now: on
# Linux, `pip install "tensorflow[and-cuda]==2.21.0"` inside `.venv` brings matching CUDA and
# cuDNN libraries as ordinary Python packages; only the NVIDIA driver comes from the system
# (cloud GPU images ship it). The cell in section 2 tells you whether TensorFlow sees the GPU.

# %% [markdown]
# ## The lessons

# %%
lessons = sorted(p for p in os.listdir(".") if p[:2].isdigit() and p.endswith(".ipynb"))
display(Markdown("\n".join(f"- [{p[:-6].replace('_', ' ')}]({p})" for p in lessons)))

# %% [markdown]
# ## Summary
# - The versions above are the ones the course is checked with.
# - TensorFlow either sees a GPU (full mode of the training lessons is then fast) or runs on the CPU.
# - An $m\times k$ by $k\times n$ product costs $2mkn$ FLOPs; this machine's best measured rate
#   is the yardstick for every speed claim in the course.
# - Knowing the rate, you can predict how long a product of a given size takes; thin shapes
#   fall short of the prediction because memory traffic, not arithmetic, limits them.
# - Datasets come from the course's manifest, verified by checksum, cached in `data/`.

# %% [markdown]
# ## References
#
# - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner (1998). Gradient-based learning applied to document recognition. *Proceedings of the IEEE* 86(11). [doi:10.1109/5.726791](https://doi.org/10.1109/5.726791)
# - Y. LeCun, C. Cortes, C. J. C. Burges. The MNIST database of handwritten digits. [yann.lecun.com/exdb/mnist](http://yann.lecun.com/exdb/mnist/)
# - TensorFlow: [Install TensorFlow with pip](https://www.tensorflow.org/install/pip) (the `and-cuda` extra for NVIDIA GPUs).
