"""2-D convolution (deep-learning style: cross-correlation) from scratch, three ways.

Layouts follow TensorFlow: images ``x`` are NHWC ``(batch, height, width, channels)``,
kernels ``w`` are HWIO ``(kernel_h, kernel_w, in_channels, out_channels)``, outputs are
NHWC ``(batch, out_h, out_w, out_channels)``. Like ``tf.nn.conv2d`` (and unlike
``scipy.signal.convolve2d``) the kernel is *not* flipped:

    out[n, i, j, o] = b[o] + sum_{a, c, k} xpad[n, i*s_h + a, j*s_w + c, k] * w[a, c, k, o]

``padding`` is ``"VALID"`` (none), ``"SAME"`` (TensorFlow's rule: the output has
``ceil(n / s)`` positions and, when the total padding is odd, the extra row/column
goes at the bottom/right), a non-negative int (that many zeros on every side), one
int per axis ``(p_h, p_w)`` or one ``(before, after)`` pair per axis
``((top, bottom), (left, right))`` (see :mod:`dlcourse.core.shapes`).

Methods (same result, very different speed):

- ``"naive"``: Python loops over batch, filters, output rows and output columns;
  each window's product-sum is one NumPy call.
- ``"vectorized"``: Python loops over output positions only; each step multiplies
  the windows of the whole batch with all filters in one ``tensordot``.
- ``"im2col"``: :func:`im2col` views every window without copying (stride tricks),
  the windows are copied block by block into a matrix of shape
  ``(positions, kh*kw*c_in)`` and multiplied by the kernel reshaped to
  ``(kh*kw*c_in, c_out)``: one matrix product per block.
"""

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core import shapes

METHODS = ("naive", "vectorized", "im2col")
# Size of one im2col block in bytes. A block small enough to stay in the core's own
# cache (L2) while the matrix product reads it avoids a trip to memory: measured on
# layer (b) of benchmarks/conv.py with one thread, 1-2 MiB blocks ran the forward pass
# about 20% faster than 8 MiB ones (and far faster than one huge matrix per call).
BLOCK_BYTES = 2**20


# --------------------------------------------------------------------------- checks


def _check_rank(x):
    if x.ndim != 4:
        raise ValueError(f"x must be 4-D NHWC (batch, height, width, channels), "
                         f"got shape {x.shape}")


def _check_arrays(x, w, b=None):
    """Validate shapes and dtypes; return (x, w, b) as arrays of one float dtype."""
    x, w = np.asarray(x), np.asarray(w)
    _check_rank(x)
    if w.ndim != 4:
        raise ValueError(f"w must be 4-D HWIO (kh, kw, in_channels, out_channels), "
                         f"got shape {w.shape}")
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"x has {x.shape[3]} channels but the kernel expects {w.shape[2]} "
                         f"(x.shape[3] must equal w.shape[2]); shapes {x.shape} and {w.shape}")
    if min(x.shape) == 0 or min(w.shape) == 0:
        raise ValueError(f"empty input: x {x.shape}, w {w.shape}")
    arrays = [x, w] if b is None else [x, w, np.asarray(b)]
    for name, a in zip(("x", "w", "b"), arrays, strict=False):
        if a.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} has dtype {a.dtype}; conv2d works on float32 or float64 "
                            f"(convert with {name}.astype(np.float32))")
    dtype = np.result_type(*arrays)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    if b is not None:
        b = arrays[2].astype(dtype, copy=False)
        if b.shape != (w.shape[3],):
            raise ValueError(f"b must have shape ({w.shape[3]},) (one bias per filter), "
                             f"got {b.shape}")
    return x, w, b


def geometry(x_shape, w_shape, stride=1, padding="VALID"):
    """Strides, paddings and output size of one conv2d call.

    x_shape: (N, H, W, C) or anything whose items 1 and 2 are H and W; w_shape:
    (kh, kw, ...). Returns ``((s_h, s_w), ((top, bottom), (left, right)), (OH, OW))``.
    Raises ValueError when the kernel does not fit in the padded input, and for an
    explicit padding amount above ``max(n, k - 1)`` on an axis of input size n and
    kernel size k: k - 1 zeros are the most any window needs to touch the input (a
    "full" convolution), and a border wider than the image too only adds windows of
    zeros; it is taken as a mistake (``padding=10**9``) before any array is allocated.
    """
    sh, sw = shapes.pair(stride, "stride")
    kh, kw = shapes.pair(tuple(w_shape[:2]), "kernel size")
    padding = shapes.normalize_padding(padding)
    per_axis = (padding, padding) if isinstance(padding, str) else padding
    pads, out = [], []
    for axis, n, k, s, p in zip(("height", "width"), x_shape[1:3], (kh, kw), (sh, sw), per_axis,
                                strict=True):
        before, after = shapes.pad_amounts(n, k, s, p)
        if max(before, after) > max(n, k - 1):
            raise ValueError(f"padding of {max(before, after)} on the {axis} axis is wider than "
                             f"both the input ({n}) and the kernel less one ({k - 1}): use at "
                             f"most {max(n, k - 1)}")
        size = shapes.output_size(n, k, s, (before, after))
        if size == 0:
            raise ValueError(f"kernel size {k} is larger than the padded input ({n} + {before} + "
                             f"{after} = {n + before + after}); use a smaller kernel or more "
                             f"padding")
        pads.append((before, after))
        out.append(size)
    return (sh, sw), tuple(pads), tuple(out)


def _pad(x, pads):
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


# --------------------------------------------------------------------------- im2col


def im2col(x, kernel_size, stride=1, padding="VALID"):
    """Every kernel window of ``x`` as a read-only view, without a loop over positions.

    x: (N, H, W, C). kernel_size: k or (kh, kw). Returns an array of shape
    (N, OH, OW, kh, kw, C) whose element [n, i, j, a, c, k] is
    xpad[n, i*s_h + a, j*s_w + c, k]. It shares memory with ``x`` (with the padded
    copy of ``x`` when padding adds zeros): moving one output column to the right is
    moving ``s_w * C`` elements in memory, so the view just gets that stride in bytes.
    ``windows.reshape(N*OH*OW, kh*kw*C)`` is the im2col matrix (that reshape copies).
    """
    x = np.asarray(x)
    _check_rank(x)
    kh, kw = shapes.pair(kernel_size, "kernel_size")
    (sh, sw), pads, (oh, ow) = geometry(x.shape, (kh, kw), stride, padding)
    xp = _pad(x, pads)
    s_n, s_h, s_w, s_c = xp.strides
    return as_strided(xp, shape=(xp.shape[0], oh, ow, kh, kw, xp.shape[3]),
                      strides=(s_n, sh * s_h, sw * s_w, s_h, s_w, s_c), writeable=False)


def _blocks(n: int, oh: int, row_bytes: int, block_bytes: int):
    """Split (batch, output rows) into blocks of about ``block_bytes`` of im2col matrix.

    row_bytes: bytes of one output row (OW windows). Yields (n0, n1, h0, h1); a block
    holds several whole images, or some rows of one image.
    """
    image_bytes = oh * row_bytes
    if image_bytes <= block_bytes:
        step = max(1, block_bytes // image_bytes)
        for n0 in range(0, n, step):
            yield n0, min(n, n0 + step), 0, oh
    else:
        step = max(1, block_bytes // row_bytes)
        for n0 in range(n):
            for h0 in range(0, oh, step):
                yield n0, n0 + 1, h0, min(oh, h0 + step)


def _block_views(windows, block_bytes: int):
    """For each block: (rows of the flat output, im2col matrix of the block, block bounds).

    The matrices share one reusable buffer: each is valid until the next block.
    """
    n, oh, ow, kh, kw, c = windows.shape
    depth = kh * kw * c
    blocks = list(_blocks(n, oh, ow * depth * windows.itemsize, block_bytes))
    largest = max((n1 - n0) * (h1 - h0) for n0, n1, h0, h1 in blocks) * ow * depth
    buffer = np.empty(largest, dtype=windows.dtype)
    for n0, n1, h0, h1 in blocks:
        part = windows[n0:n1, h0:h1]
        cols = buffer[:part.size].reshape(part.shape)
        np.copyto(cols, part)
        start = (n0 * oh + h0) * ow
        rows = slice(start, start + part.shape[0] * part.shape[1] * ow)
        yield rows, cols.reshape(-1, depth), (n0, n1, h0, h1)


# --------------------------------------------------------------------------- forward


def conv2d(x, w, b=None, stride=1, padding="VALID", method="im2col"):
    """Cross-correlate NHWC images with HWIO kernels, like ``tf.nn.conv2d``.

    x: (N, H, W, C_in), w: (kh, kw, C_in, C_out), b: (C_out,) or None.
    stride: int or (s_h, s_w). padding: "VALID", "SAME" or an int.
    method: "naive", "vectorized" or "im2col" (see the module docstring).
    float32 and float64 are supported; mixed inputs are promoted (float32 with
    float64 gives float64). Returns (N, OH, OW, C_out).
    """
    x, w, b = _check_arrays(x, w, b)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {METHODS}")
    strides, pads, (oh, ow) = geometry(x.shape, w.shape, stride, padding)
    out = FORWARD[method](_pad(x, pads), w, strides, (oh, ow))
    if b is not None:
        out += b
    return out


def forward_naive(xp, w, strides, out_hw):
    (sh, sw), (kh, kw) = strides, w.shape[:2]
    out = np.empty((xp.shape[0], *out_hw, w.shape[3]), dtype=xp.dtype)
    for n in range(xp.shape[0]):
        for o in range(w.shape[3]):
            for i in range(out_hw[0]):
                for j in range(out_hw[1]):
                    window = xp[n, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                    out[n, i, j, o] = np.sum(window * w[:, :, :, o])
    return out


def forward_vectorized(xp, w, strides, out_hw):
    (sh, sw), (kh, kw) = strides, w.shape[:2]
    out = np.empty((xp.shape[0], *out_hw, w.shape[3]), dtype=xp.dtype)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            window = xp[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]   # (N, kh, kw, C)
            out[:, i, j, :] = np.tensordot(window, w, axes=3)         # (N, C_out)
    return out


def forward_im2col(xp, w, strides, out_hw):
    windows = im2col(xp, w.shape[:2], strides)
    out = np.empty((xp.shape[0], *out_hw, w.shape[3]), dtype=xp.dtype)
    flat = out.reshape(-1, w.shape[3])
    kernel = w.reshape(-1, w.shape[3])                  # (kh*kw*C_in, C_out)
    for rows, cols, _ in _block_views(windows, BLOCK_BYTES):
        np.matmul(cols, kernel, out=flat[rows])
    return out


FORWARD = {"naive": forward_naive, "vectorized": forward_vectorized,
            "im2col": forward_im2col}


# --------------------------------------------------------------------------- backward


def conv2d_backward(dout, x, w, stride=1, padding="VALID", method="im2col"):
    """Gradients of a conv2d layer: ``(dx, dw, db)`` given dL/dout.

    dout: (N, OH, OW, C_out), the gradient of the loss with respect to
    ``conv2d(x, w, b, stride, padding)``; x: (N, H, W, C_in); w: (kh, kw, C_in, C_out).
    Returns dx (N, H, W, C_in), dw (kh, kw, C_in, C_out) and db (C_out,):

    - db sums dout over batch and positions;
    - dw correlates the input windows with dout: dw = cols^T @ dout;
    - dx scatters dout @ w^T back onto the windows each came from (a "full"
      convolution with the 180°-rotated kernel), then drops the padding.
    """
    x, w, _ = _check_arrays(x, w)
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {METHODS}")
    strides, pads, out_hw = geometry(x.shape, w.shape, stride, padding)
    dout = np.asarray(dout)
    expected = (x.shape[0], *out_hw, w.shape[3])
    if dout.shape != expected:
        raise ValueError(f"dout must have the output's shape {expected}, got {dout.shape}")
    if dout.dtype not in (np.float32, np.float64):
        raise TypeError(f"dout has dtype {dout.dtype}; use float32 or float64")
    dout = dout.astype(x.dtype, copy=False)
    xp = _pad(x, pads)
    dxp, dw = BACKWARD[method](dout, xp, w, strides)
    (top, _), (left, _) = pads
    dx = dxp[:, top:top + x.shape[1], left:left + x.shape[2], :]
    return np.ascontiguousarray(dx), dw, dout.sum(axis=(0, 1, 2))


def backward_naive(dout, xp, w, strides):
    (sh, sw), (kh, kw) = strides, w.shape[:2]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    n_batch, oh, ow, n_out = dout.shape
    for n in range(n_batch):
        for o in range(n_out):
            for i in range(oh):
                for j in range(ow):
                    g = dout[n, i, j, o]
                    rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                    dw[:, :, :, o] += g * xp[n, rows, cols, :]
                    dxp[n, rows, cols, :] += g * w[:, :, :, o]
    return dxp, dw


def backward_vectorized(dout, xp, w, strides):
    (sh, sw), (kh, kw) = strides, w.shape[:2]
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            g = dout[:, i, j, :]                                        # (N, C_out)
            dw += np.tensordot(xp[:, rows, cols, :], g, axes=([0], [0]))
            dxp[:, rows, cols, :] += np.tensordot(g, w, axes=([1], [3]))
    return dxp, dw


def backward_im2col(dout, xp, w, strides):
    (sh, sw), (kh, kw, c_in, n_out) = strides, w.shape
    windows = im2col(xp, (kh, kw), strides)
    dw = np.zeros((kh * kw * c_in, n_out), dtype=xp.dtype)
    flat = dout.reshape(-1, n_out)
    if (sh, sw) == (1, 1) and c_in >= 16:
        # With stride 1, scattering dout @ w^T back onto the input is itself a convolution:
        # dout padded by k-1 on every side, correlated with the kernel rotated by 180° and
        # its channel axes swapped. One more blocked im2col product replaces the kh*kw
        # strided additions below (about 13% less time on benchmarks/conv.py's layer b;
        # with few input channels that product would be a thin matrix-vector one).
        for rows, cols, _ in _block_views(windows, BLOCK_BYTES):
            dw += cols.T @ flat[rows]
        full = np.pad(dout, ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
        rotated = np.ascontiguousarray(w[::-1, ::-1].transpose(0, 1, 3, 2))
        return forward_im2col(full, rotated, (1, 1), xp.shape[1:3]), dw.reshape(w.shape)
    ow = windows.shape[2]
    dxp = np.zeros_like(xp)
    kernel = w.reshape(-1, n_out)                        # (kh*kw*C_in, C_out)
    # With few channels, NumPy adds faster when d(cols) is laid out channel-first:
    # its inner loop then runs along output columns instead of over 1-3 channels.
    channel_first = c_in < 16
    for rows, cols, (n0, n1, h0, h1) in _block_views(windows, BLOCK_BYTES):
        g = flat[rows]
        dw += cols.T @ g
        # Reuse the block's buffer for d(cols) = g @ kernel^T, then add each kernel
        # offset's share back onto the input positions it was read from: the Python
        # loop runs over the kh*kw offsets only, never over positions.
        if channel_first:
            dcols = np.matmul(kernel, g.T, out=cols.reshape(cols.shape[::-1]))
            dcols = dcols.reshape(kh, kw, c_in, n1 - n0, h1 - h0, ow)
        else:
            dcols = np.matmul(g, kernel.T, out=cols)
            dcols = dcols.reshape(n1 - n0, h1 - h0, ow, kh, kw, c_in).transpose(3, 4, 5, 0, 1, 2)
        for a in range(kh):
            r0 = h0 * sh + a
            for c in range(kw):
                target = dxp[n0:n1, r0:r0 + (h1 - h0 - 1) * sh + 1:sh, c:c + (ow - 1) * sw + 1:sw]
                target.transpose(3, 0, 1, 2)[...] += dcols[a, c]
    return dxp, dw.reshape(w.shape)


BACKWARD = {"naive": backward_naive, "vectorized": backward_vectorized,
             "im2col": backward_im2col}


def conv2d_flops(x_shape, w_shape, stride=1, padding="VALID") -> int:
    """Floating-point operations of one forward conv2d (2 per multiply-accumulate)."""
    _, _, (oh, ow) = geometry(x_shape, w_shape, stride, padding)
    return 2 * x_shape[0] * oh * ow * math.prod(w_shape)
