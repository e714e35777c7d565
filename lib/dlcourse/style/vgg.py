"""VGG feature extractors for style transfer: layer names, weights, pre/deprocessing.

Layout: images are NHWC, RGB, float32 in 0-255 (``(1, H, W, 3)`` or ``(H, W, 3)``).
The ImageNet VGG networks were trained on *Caffe-style* input: BGR channel order,
0-255, with the ImageNet mean pixel subtracted (no division by a standard
deviation). :func:`preprocess` and :func:`deprocess` convert between the two.

Layer names: Gatys et al. write ``conv4_2``; Keras writes ``block4_conv2``. Every
function here accepts both and works with the Keras name internally.

Weights (``weights=``):

- ``"imagenet"``: the published ImageNet filters, through the course data layer
  (``dlcourse.data``: cache, offline mirror, then download with a checksum); when
  they cannot be had, the data layer's ``MissingDataError`` says what is missing
  and how to get it. Never a silent fallback.
- ``"random"``: Glorot-uniform random filters, only when asked for, with a printed
  notice (published work finds random filters give poorer textures).
- a path to an ``.h5`` file of no-top weights for the same network.

Two options bring the network closer to the paper's (both off by default, so the
published filters are what you get unless you ask):

- ``pooling="avg"``: average instead of max pooling, which Gatys et al. used for all
  their images because they found the results slightly more appealing (the 2015
  preprint adds that it improves the gradient flow).
- ``normalize=True``: each filter's weights and bias are divided by its mean activation
  (over positions and images), layer by layer, so every filter's mean activation is 1.
  The paper's images for this are not available here; the means come from the
  scikit-image photos ``CALIBRATION_PHOTOS`` at 224 px (ImageNet's usual size). With
  ReLU the network then computes exactly the old activations divided by those means,
  so nothing but the scale of each feature map changes, and with it the balance of
  the layers' losses.
"""

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import core, data
from . import images

# Convolutions per block: VGG16 has 2-2-3-3-3, VGG19 2-2-4-4-4.
_BLOCKS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
WEIGHT_FILES = {
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
    "vgg19": "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
}
NETS = tuple(_BLOCKS)
POOLINGS = ("max", "avg")
# The photos (scikit-image) and side over which normalize=True takes each filter's mean
# activation (the paper's own image set is not available here).
CALIBRATION_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
CALIBRATION_SIZE = 224
# The ImageNet mean pixel in BGR order, subtracted by Keras' "caffe" preprocessing.
MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

# Gatys et al. (2016): style from conv1_1 ... conv5_1 (w_l = 1/5), content from conv4_2.
STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_LAYERS = ("conv4_2",)
RANDOM_NOTICE = ("NOTICE: VGG with *randomly initialised* filters (weights='random'), not the "
                 "ImageNet ones; published work finds random filters give poorer textures.")


def layer_names(net: str = "vgg16") -> list[str]:
    """The convolution layers of ``net`` in Keras' naming, input to output."""
    blocks = _blocks(net)
    return [f"block{b}_conv{c}" for b, n in enumerate(blocks, 1) for c in range(1, n + 1)]


def paper_name(layer: str) -> str:
    """``block4_conv2`` -> ``conv4_2`` (the names of the paper)."""
    block, conv = layer.removeprefix("block").split("_conv")
    return f"conv{block}_{conv}"


def keras_name(layer: str, net: str = "vgg16") -> str:
    """The Keras name of ``layer`` (given as ``conv4_2`` or ``block4_conv2``).

    Raises ValueError naming every valid layer when ``layer`` is not a convolution of ``net``.
    """
    valid = layer_names(net)
    if not isinstance(layer, str):
        raise TypeError(f"a layer name must be a string, got {type(layer).__name__} {layer!r}")
    name = layer
    if layer.startswith("conv") and "_" in layer:
        block, _, conv = layer[4:].partition("_")
        name = f"block{block}_conv{conv}"
    if name not in valid:
        listed = ", ".join(f"{v} ({paper_name(v)})" for v in valid)
        raise ValueError(f"unknown layer {layer!r} for {net}; valid layers: {listed}")
    return name


def min_side(layers, net: str = "vgg16") -> tuple[int, str]:
    """``(pixels, layer)``: the smallest image side that reaches every layer of ``layers``,
    and the deepest of them (the paper's name).

    Each max pool before a layer halves the side, rounding down, and a side of 0 fails
    deep inside TensorFlow; a layer of block ``b`` comes after ``b - 1`` pools, so it
    needs at least ``2**(b - 1)`` pixels: 16 for conv5_1, 8 for conv4_2.
    """
    names = [keras_name(layer, net) for layer in layers]
    if not names:
        raise ValueError("give at least one layer name")
    deepest = max(names, key=layer_names(net).index)
    block = int(deepest.removeprefix("block").partition("_")[0])
    return 2 ** (block - 1), paper_name(deepest)


def _blocks(net: str) -> tuple[int, ...]:
    return _BLOCKS[core.choice("net", net, NETS)]


def as_batch(image, name: str = "image"):
    """Float32 tensor ``(1, H, W, 3)`` from an array/tensor ``(H, W, 3)`` or ``(1, H, W, 3)``."""
    import tensorflow as tf

    if isinstance(image, str | Path):
        raise TypeError(f"{name} must be an array of pixels, got the path {image!r}; "
                        "load it with dlcourse.style.load_image")
    try:
        x = tf.convert_to_tensor(image)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers ({err})") from None
    if len(core.axes(name, x.shape, ("H, W, 3", "1, H, W, 3"))) == 3:
        x = x[tf.newaxis]
    if not (x.dtype.is_floating or x.dtype.is_integer):
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype.name}")
    return tf.cast(x, tf.float32)


def preprocess(image):
    """RGB 0-255 ``(1, H, W, 3)`` or ``(H, W, 3)`` -> VGG input ``(1, H, W, 3)``, BGR - mean.

    The same as ``keras.applications.vgg16.preprocess_input`` (Caffe mode), but
    differentiable and for one image.
    """
    x = as_batch(image)
    return x[..., ::-1] - MEAN_BGR


def deprocess(x) -> np.ndarray:
    """VGG input ``(1, H, W, 3)`` or ``(H, W, 3)`` -> displayable RGB ``(H, W, 3)`` uint8.

    Adds the mean back, reverses BGR to RGB and clips to 0-255.
    """
    arr = core.array("x", x, ("1, H, W, 3", "H, W, 3"), dtype=np.float32)
    rgb = (arr.reshape(arr.shape[-3:]) + MEAN_BGR)[..., ::-1]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def weights_path(net: str = "vgg16", download: bool = True) -> Path:
    """Verified local path of ``net``'s ImageNet no-top weights, through ``dlcourse.data``.

    Raises ``dlcourse.data.MissingDataError`` (with what is missing and how to get
    it) when the file is neither cached, mirrored nor downloadable.
    """
    _blocks(net)
    return data.fetch_one(net, WEIGHT_FILES[net], download=download)


def weights_fingerprint(model) -> str:
    """sha256 of the convolution weights, independent of the HDF5 file's layout.

    Over the conv layers input to output: the kernel ``(kh, kw, in, out)`` then the
    bias, as little-endian float32 C-order bytes (the fingerprint the data mirror's
    README gives for VGG16). ``model``: a Keras VGG or a :class:`FeatureExtractor`.
    """
    model = getattr(model, "base", model)
    digest = hashlib.sha256()
    for layer in model.layers:
        if "_conv" in layer.name:
            kernel, bias = layer.get_weights()
            for arr in (kernel, bias):
                digest.update(np.ascontiguousarray(arr, dtype="<f4").tobytes())
    return digest.hexdigest()


_BASES: dict = {}


def _base_model(net: str, weights, pooling: str = "max", normalize: bool = False):
    """(Keras VGG without the classifier, label); ImageNet/file weights loaded once per process."""
    core.choice("pooling", pooling, POOLINGS)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {normalize!r}")
    key = (net, str(weights), pooling, normalize)
    if key not in _BASES or (isinstance(weights, str) and weights == "random"):
        base, label = _load_base(net, weights)
        if pooling == "avg":
            base, label = _with_average_pooling(base), f"{label}, average pooling"
        if normalize:
            means = _normalize_filters(base)
            label = (f"{label}, filters normalised to mean activation 1 on "
                     f"{len(CALIBRATION_PHOTOS)} photos (scales {min(means):.3g} to "
                     f"{max(means):.3g})")
        _BASES[key] = base, label
    return _BASES[key]


def _with_average_pooling(base):
    """A copy of ``base`` (its own weights) with every max pooling replaced by average pooling
    of the same window and stride."""
    import keras

    x = inputs = keras.Input((None, None, 3))
    for layer in base.layers[1:]:
        if isinstance(layer, keras.layers.MaxPooling2D):
            x = keras.layers.AveragePooling2D(layer.pool_size, layer.strides, name=layer.name)(x)
        else:
            clone = layer.__class__.from_config(layer.get_config())
            x = clone(x)
            clone.set_weights(layer.get_weights())
    model = keras.Model(inputs, x, name=base.name)
    model.trainable = False
    return model


def filter_means(model, photos=CALIBRATION_PHOTOS, size: int = CALIBRATION_SIZE) -> dict:
    """{Keras conv layer name: mean activation per filter ``(C,)``} over ``photos``.

    model: a Keras VGG (or a :class:`FeatureExtractor`); photos: scikit-image photo names,
    each centre-cropped to ``size × size``. The mean is over positions, then over photos.
    """
    import keras

    model = getattr(model, "base", model)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    probe = keras.Model(model.input, [layer.output for layer in convs])
    sums = [np.zeros(layer.filters) for layer in convs]
    for name in photos:
        outputs = probe(preprocess(images.content_image(name, size)), training=False)
        for total, out in zip(sums, outputs, strict=True):
            total += np.mean(np.asarray(out, np.float64), axis=(0, 1, 2))
    return {layer.name: total / len(photos) for layer, total in zip(convs, sums, strict=True)}


def _normalize_filters(model) -> list[float]:
    """Rescale ``model``'s filters in place so each has mean activation 1 on the calibration
    photos; returns every filter's old mean (its scale).

    With ReLU, relu(W·x + b) / s = relu((W·x + b) / s) for s > 0, and pooling commutes
    with a positive per-channel scale; so dividing filter o of layer l by s_l[o], and
    multiplying its input channel i by s_{l-1}[i] to undo the previous layer's division,
    gives exactly the old activations divided by s_l. A filter that never fires on the
    photos (mean 0) keeps scale 1.
    """
    scales_in, every = np.ones(3), []
    for name, mean in filter_means(model).items():
        layer = model.get_layer(name)
        scale = np.where(mean > 0, mean, 1.0)
        kernel, bias = layer.get_weights()
        layer.set_weights([(kernel * scales_in[:, None] / scale).astype(kernel.dtype),
                           (bias / scale).astype(bias.dtype)])
        scales_in = scale
        every.extend(scale)
    return every


def _load_base(net: str, weights):
    import keras

    constructor = {"vgg16": keras.applications.VGG16, "vgg19": keras.applications.VGG19}[net]
    if isinstance(weights, str | os.PathLike) and str(weights) == "imagenet":
        source = weights_path(net)
        label = f"{net.upper()} ImageNet weights ({source.name}, via dlcourse.data)"
    elif isinstance(weights, str) and weights == "random":
        print(RANDOM_NOTICE)
        source, label = None, f"{net.upper()} with random filters (NOT trained)"
    elif isinstance(weights, str | os.PathLike):
        source = Path(weights)
        if not source.is_file():
            raise FileNotFoundError(f"weights file {source} does not exist")
        label = f"{net.upper()} weights from {source.name}"
    else:
        raise ValueError(f"weights must be 'imagenet', 'random' or a path to an .h5 file, "
                         f"got {weights!r}")
    base = constructor(include_top=False, weights=None, input_shape=(None, None, 3))
    if source is not None:
        try:
            base.load_weights(str(source))
        except (OSError, ValueError) as err:  # h5py: not HDF5; Keras: not these layers
            fix = (f"Repair it with: {data.repair_command(net)}"
                   if str(weights) == "imagenet" else
                   f"Give the path of a Keras .h5 file of no-top {net} weights")
            reason = str(err).splitlines()[0]
            raise data.CorruptDataError(f"{source} is not a readable {net.upper()} weights "
                                        f"file ({reason}). {fix}") from None
    base.trainable = False
    return base, label


@dataclass
class FeatureExtractor:
    """Callable: RGB image 0-255 ``(1, H, W, 3)`` or ``(H, W, 3)`` -> {layer: ``(1, h, w, C)``}.

    ``layers`` are Keras names in the order asked for; the returned dict uses the
    names as given by the caller. Only the network up to the deepest requested
    layer is evaluated. ``description`` says which network and weights these are.
    ``objectives`` holds the traced losses built on this extractor
    (:func:`dlcourse.style.make_objective`), so they live and die with it.
    """

    model: object
    base: object
    layers: tuple[str, ...]
    requested: tuple[str, ...]
    net: str
    description: str
    objectives: dict = field(default_factory=dict, repr=False, compare=False)

    def __call__(self, image) -> dict:
        outputs = self.model(preprocess(image), training=False)
        if len(self.layers) == 1:
            outputs = [outputs]
        return dict(zip(self.requested, outputs, strict=True))

    def __repr__(self) -> str:
        return f"FeatureExtractor({', '.join(self.requested)}; {self.description})"


def feature_extractor(layers, net: str = "vgg16", weights="imagenet", *,
                      pooling: str = "max", normalize: bool = False) -> FeatureExtractor:
    """A :class:`FeatureExtractor` giving the activations of ``layers`` (after ReLU).

    layers: names like ``"conv4_2"`` or ``"block4_conv2"`` (a string or a sequence).
    net: ``"vgg16"`` (the course's network) or ``"vgg19"`` (the paper's).
    weights: ``"imagenet"`` (through the data layer), ``"random"`` (explicitly
    untrained, with a notice) or a path to a no-top ``.h5`` file.
    pooling: ``"max"`` (Keras' VGG) or ``"avg"`` (the paper's choice).
    normalize: rescale every filter to mean activation 1 (see the module's docstring).
    """
    import keras

    if isinstance(layers, str):
        layers = (layers,)
    requested = tuple(layers)
    if not requested:
        raise ValueError("give at least one layer name")
    names = tuple(keras_name(layer, net) for layer in requested)
    base, label = _base_model(net, weights, pooling, normalize)
    outputs = [base.get_layer(n).output for n in names]
    model = keras.Model(base.input, outputs if len(outputs) > 1 else outputs[0])
    return FeatureExtractor(model, base, names, requested, net, label)
