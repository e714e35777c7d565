"""The losses of Gatys et al.'s style transfer, for NumPy arrays or TensorFlow tensors.

A feature map ``F`` is one layer's activations for one image: ``(1, H, W, C)`` or
``(H, W, C)`` (NHWC). Flattened, it is an ``(M, N)`` matrix with ``M = H·W``
positions and ``N = C`` filters. Every function returns a TensorFlow tensor (so it
can sit inside a ``tf.function`` and be differentiated); ``float(...)`` or
``np.asarray(...)`` turns it into a number or an array. Float64 input stays
float64, anything else is computed in float32.
"""

from collections.abc import Mapping, Sequence

import tensorflow as tf

from .. import core


def _feature_map(F, name: str = "F") -> tf.Tensor:
    """``F`` as a float tensor of shape ``(H, W, C)``; ValueError/TypeError otherwise."""
    try:
        x = tf.convert_to_tensor(F)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array or tensor of numbers ({err})") from None
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype.name}")
    if x.dtype != tf.float64:
        x = tf.cast(x, tf.float32)
    if len(core.axes(name, x.shape, ("1, H, W, C", "H, W, C"))) == 4:
        x = x[0]
    if any(d == 0 for d in x.shape):
        raise ValueError(f"{name} is empty: shape {tuple(x.shape)}")
    return x


def gram_matrix(F) -> tf.Tensor:
    """The Gram matrix ``(C, C)`` of a feature map ``(1, H, W, C)`` or ``(H, W, C)``.

    ``G[i, j] = Σ_positions F[..., i] · F[..., j]`` (not normalised): with the map
    flattened to ``(M, C)``, ``G = Fᵀ F``.
    """
    x = _feature_map(F)
    flat = tf.reshape(x, (-1, tf.shape(x)[-1]))
    return tf.matmul(flat, flat, transpose_a=True)


def content_loss(F, P) -> tf.Tensor:
    """``½ Σ (F − P)²`` for two feature maps of the same shape (generated F, content P)."""
    f, p = _feature_map(F, "F"), _feature_map(P, "P")
    if f.shape != p.shape:
        raise ValueError(f"F and P must have the same shape, got {tuple(f.shape)} "
                         f"and {tuple(p.shape)}")
    p = tf.cast(p, f.dtype)
    return 0.5 * tf.reduce_sum(tf.square(f - p))


def layer_style_loss(F, S) -> tf.Tensor:
    """One layer's style loss ``Σ (G(F) − G(S))² / (4 N² M²)``.

    F: the generated image's feature map, S: the style image's, each
    ``(1, H, W, C)`` or ``(H, W, C)`` with the same number of channels ``C = N``;
    ``M = H·W`` is F's number of positions (S may have another size; its Gram
    matrix is rescaled by ``M_F / M_S`` so both count the same number of positions,
    which changes nothing when the sizes agree).
    """
    f, s = _feature_map(F, "F"), _feature_map(S, "S")
    if f.shape[-1] != s.shape[-1]:
        raise ValueError(f"F and S must have the same number of channels, got "
                         f"{f.shape[-1]} and {s.shape[-1]}")
    n = f.shape[-1]
    m = f.shape[0] * f.shape[1]
    m_s = s.shape[0] * s.shape[1]
    g_f = gram_matrix(f)
    g_s = tf.cast(gram_matrix(s), f.dtype) * (m / m_s)
    return tf.reduce_sum(tf.square(g_f - g_s)) / (4.0 * n**2 * m**2)


def style_loss(features: Mapping, targets: Mapping, weights: Mapping | Sequence | None = None,
               layer_loss=layer_style_loss) -> tf.Tensor:
    """``Σ_l w_l · layer_loss(features[l], targets[l])`` over the layers of ``targets``.

    features: {layer name: the generated image's feature map}; targets: {layer name:
    the style image's feature map} (its keys are the style layers). weights:
    {layer: w_l}, a sequence in the order of ``targets``, or None for
    ``w_l = 1 / (number of layers)``. layer_loss: one layer's loss (F, S) -> scalar,
    :func:`layer_style_loss` unless another (a learner's own) is given.
    """
    layers = list(targets)
    if not layers:
        raise ValueError("targets is empty: give at least one style layer")
    missing = [layer for layer in layers if layer not in features]
    if missing:
        raise ValueError(f"features lacks the style layers {missing}; it has {list(features)}")
    w = layer_weights(weights, layers)
    terms = [w[layer] * layer_loss(features[layer], targets[layer]) for layer in layers]
    return tf.add_n(terms)


def layer_weights(weights: Mapping | Sequence | None, layers: Sequence[str]) -> dict:
    """The style weights as {layer: w_l}: from a mapping (naming exactly ``layers``), a
    sequence in the order of ``layers``, or None for ``w_l = 1 / len(layers)``."""
    layers = list(layers)
    if weights is None:
        return {layer: 1.0 / len(layers) for layer in layers}
    if isinstance(weights, Mapping):
        if set(weights) != set(layers):
            raise ValueError(f"weights must name exactly the style layers {layers}, "
                             f"got {list(weights)}")
        return dict(weights)
    weights = list(weights)
    if len(weights) != len(layers):
        raise ValueError(f"{len(weights)} weights for {len(layers)} style layers {layers}")
    return dict(zip(layers, weights, strict=True))


def total_variation_loss(image) -> tf.Tensor:
    """``Σ (x[i+1, j] − x[i, j])² + Σ (x[i, j+1] − x[i, j])²`` over all channels.

    image: ``(1, H, W, C)`` or ``(H, W, C)``. Squared differences of neighbouring
    pixels: small for smooth images, large for noise.
    """
    x = _feature_map(image, "image")
    down = x[1:, :, :] - x[:-1, :, :]
    right = x[:, 1:, :] - x[:, :-1, :]
    return tf.reduce_sum(tf.square(down)) + tf.reduce_sum(tf.square(right))
