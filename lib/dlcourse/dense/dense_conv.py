"""Dense layers are convolutions: converting weights both ways, and which inputs feed an output.

A dense layer that reads a flattened ``kh×kw×C`` patch has a weight matrix of
shape ``(kh*kw*C, F)``. Reshaped to the HWIO kernel ``(kh, kw, C, F)`` it is the
kernel of a convolution that applies the same dense layer to every patch. The
reshape is only right when it unflattens the patch in the order it was flattened:

* ``patch_layout="HWC"``: the patch was flattened from NHWC data (TensorFlow,
  Keras ``Flatten``): row ``(y*kw + x)*C + c`` of the matrix is kernel tap
  ``[y, x, c]``; a C-order reshape gives the kernel.
* ``patch_layout="CHW"``: the patch was flattened from NCHW data (PyTorch):
  row ``(c*kh + y)*kw + x`` is tap ``[y, x, c]``; reshape to ``(C, kh, kw, F)``
  and move the channel axis behind the spatial ones.

Convolution layers in deep learning compute a cross-correlation (no flip);
:func:`flip_spatial` gives the kernel to hand to a library that really convolves.
"""

from collections.abc import Sequence

import numpy as np

from ..core import shapes, validate

PATCH_LAYOUTS = ("HWC", "CHW")


def _check_layout(patch_layout: str) -> None:
    if patch_layout not in PATCH_LAYOUTS:
        raise ValueError(f"patch_layout must be one of {PATCH_LAYOUTS}, got {patch_layout!r}")


def _check_patch_shape(patch_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(patch_shape)
    if len(shape) != 3:
        raise ValueError(f"patch_shape must be three positive integers (kh, kw, C), got {shape}")
    return tuple(validate.count(f"patch_shape {shape}", n) for n in shape)


def dense_to_conv_kernel(weights: np.ndarray, patch_shape: Sequence[int],
                         patch_layout: str = "HWC") -> np.ndarray:
    """The HWIO conv kernel ``(kh, kw, C, F)`` equivalent to Dense weights ``(kh*kw*C, F)``.

    patch_shape: ``(kh, kw, C)`` of the patch the dense layer reads.
    patch_layout: how the patch was flattened, "HWC" (NHWC data) or "CHW" (NCHW data).
    """
    _check_layout(patch_layout)
    kh, kw, c = _check_patch_shape(patch_shape)
    w = np.asarray(weights)
    if w.ndim != 2:
        raise ValueError("dense weights must be a 2-D (inputs, outputs) matrix, "
                         f"got shape {w.shape}")
    if w.shape[0] != kh * kw * c:
        raise ValueError(f"dense weights have {w.shape[0]} input rows, but a {kh}×{kw}×{c} patch "
                         f"has {kh * kw * c} values")
    if patch_layout == "HWC":
        return w.reshape(kh, kw, c, w.shape[1])
    return w.reshape(c, kh, kw, w.shape[1]).transpose(1, 2, 0, 3)


def conv_kernel_to_dense(kernel: np.ndarray, patch_layout: str = "HWC") -> np.ndarray:
    """The Dense weights ``(kh*kw*C, F)`` equivalent to an HWIO kernel ``(kh, kw, C, F)``.

    The inverse of :func:`dense_to_conv_kernel` with the same ``patch_layout``.
    """
    _check_layout(patch_layout)
    k = np.asarray(kernel)
    if k.ndim != 4:
        raise ValueError(f"a conv kernel must be 4-D (kh, kw, C_in, C_out) in HWIO order, "
                         f"got shape {k.shape}")
    kh, kw, c, f = k.shape
    if patch_layout == "CHW":
        k = k.transpose(2, 0, 1, 3)
    return k.reshape(kh * kw * c, f)


def flip_spatial(kernel: np.ndarray, axes: Sequence[int] = (0, 1)) -> np.ndarray:
    """``kernel`` reversed along ``axes``: turns a correlation kernel into a convolution kernel.

    ``scipy.signal.convolve(x, flip_spatial(k, all axes)) == scipy.signal.correlate(x, k)``.
    """
    k = np.asarray(kernel)
    for axis in axes:
        if not -k.ndim <= axis < k.ndim:
            raise ValueError(f"axis {axis} is out of range for a kernel of shape {k.shape}")
    return np.flip(k, axis=tuple(axes))


def tile_dense(x: np.ndarray, weights: np.ndarray, bias: np.ndarray,
               tile: Sequence[int]) -> np.ndarray:
    """One dense layer applied to every non-overlapping tile of NHWC images.

    x: ``(N, H, W, C)`` with H and W multiples of the tile size.
    weights: ``(th*tw*C, F)``, each tile flattened in HWC order; bias: ``(F,)``.
    Returns ``(N, H // th, W // tw, F)``: output ``[n, i, j]`` reads tile
    ``x[n, i*th:(i+1)*th, j*tw:(j+1)*tw, :]``. Plain NumPy, no convolution involved.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"x must be a 4-D NHWC batch, got shape {x.shape}")
    th, tw = shapes.pair(tile, "tile")
    n, h, w, c = x.shape
    if h % th or w % tw:
        raise ValueError(f"a {h}×{w} image does not split into whole {th}×{tw} tiles")
    weights, bias = np.asarray(weights), np.asarray(bias)
    if weights.ndim != 2 or weights.shape[0] != th * tw * c:
        raise ValueError(f"weights must have shape ({th * tw * c}, F) for {th}×{tw}×{c} tiles, "
                         f"got {weights.shape}")
    if bias.shape != (weights.shape[1],):
        raise ValueError(f"bias must have shape ({weights.shape[1]},), got {bias.shape}")
    tiles = x.reshape(n, h // th, th, w // tw, tw, c).transpose(0, 1, 3, 2, 4, 5)
    return tiles.reshape(n, h // th, w // tw, th * tw * c) @ weights + bias


# --- which input pixels feed which output -------------------------------------

def receptive_field(index: Sequence[int], size: Sequence[int],
                    stride: Sequence[int]) -> tuple[slice, ...]:
    """The input slices one output reads: ``slice(i*s, i*s + k)`` per axis (VALID, no dilation)."""
    if not len(index) == len(size) == len(stride):
        raise ValueError(f"index {tuple(index)}, size {tuple(size)} and stride {tuple(stride)} "
                         "must have one entry per axis")
    if any(i < 0 for i in index):
        raise ValueError(f"output index {tuple(index)} must not be negative")
    return tuple(slice(i * s, i * s + k) for i, k, s in zip(index, size, stride, strict=True))


def coverage(input_hw: Sequence[int], size: Sequence[int], stride: Sequence[int]) -> np.ndarray:
    """How many outputs read each input pixel: an int array of shape ``input_hw``.

    Zeros mark pixels no output sees (stride larger than the window, or a ragged border).
    """
    h, w = input_hw
    counts = np.zeros((h, w), dtype=int)
    for i in range(shapes.output_size(h, size[0], stride[0])):
        for j in range(shapes.output_size(w, size[1], stride[1])):
            counts[receptive_field((i, j), size, stride)] += 1
    return counts
