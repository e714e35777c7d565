"""A small convolutional network in NumPy, with hand-written backward passes.

Every layer has ``forward(x)``, which caches what the backward pass needs, and
``backward(dout)``, which takes dLoss/d(output) and returns dLoss/d(input),
storing the gradients of its parameters in ``layer.grads`` (same keys and
shapes as ``layer.params``). Images are NHWC, kernels HWIO (TensorFlow's layouts).

:class:`ConvNet` is conv 3×3×32 → ReLU → conv 3×3×32 → ReLU → flatten →
dense 10 → softmax cross-entropy; :func:`train` updates its parameters with
:class:`dlcourse.nets.SGD` or :class:`dlcourse.nets.Adam` through
:meth:`ConvNet.params_and_grads`; :func:`accuracy` measures it on a dataset.
"""

from collections.abc import Callable

import numpy as np
from tqdm.auto import tqdm

from .. import conv
from ..core import output_size, validate
from . import gradcheck
from .losses import softmax_cross_entropy
from .optim import SGD, Adam

__all__ = ["Conv", "ConvNet", "Affine", "Flatten", "Layer", "ReLU",
           "SoftmaxCrossEntropy", "accuracy", "gradient_errors", "train"]


class Layer:
    """Base class: ``params`` and ``grads`` start empty; subclasses define forward and backward."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class Conv(Layer):
    """y = conv2d(x, w) + b with x (N, H, W, C_in), w (k, k, C_in, C_out), b (C_out,).

    He initialisation (std sqrt(2 / fan_in)), zero bias. Backward uses
    :func:`dlcourse.conv.conv2d_backward`.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: str | int = "VALID",
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        super().__init__()
        rng = rng or np.random.default_rng(0)
        fan_in = kernel_size * kernel_size * in_channels
        shape = (kernel_size, kernel_size, in_channels, out_channels)
        self.params["w"] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)
        self.params["b"] = np.zeros(out_channels, dtype)
        self.stride, self.padding = stride, padding

    def forward(self, x: np.ndarray) -> np.ndarray:
        validate.array("Conv input", x, "N, H, W, C", convert=False)
        self.x = x
        return conv.conv2d(x, self.params["w"], self.params["b"], self.stride, self.padding)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx, self.grads["w"], self.grads["b"] = conv.conv2d_backward(
            dout, self.x, self.params["w"], self.stride, self.padding)
        return dx


class ReLU(Layer):
    """y = max(x, 0); the gradient passes where x > 0 and is zero elsewhere."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, 0).astype(x.dtype, copy=False)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.where(self.mask, dout, 0).astype(dout.dtype, copy=False)


class Flatten(Layer):
    """(N, d1, d2, ...) → (N, d1·d2·...), in C order; backward reshapes back."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        validate.array("Flatten input", x, "N, d1, ...", convert=False)
        self.shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(self.shape)


class Affine(Layer):
    """y = x W + b with x (N, in_features), W (in_features, out_features), b (out_features,)."""

    def __init__(self, in_features: int, out_features: int,
                 rng: np.random.Generator | None = None, dtype=np.float32) -> None:
        super().__init__()
        rng = rng or np.random.default_rng(0)
        std = np.sqrt(1.0 / in_features)
        self.params["w"] = (rng.standard_normal((in_features, out_features)) * std).astype(dtype)
        self.params["b"] = np.zeros(out_features, dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        validate.array("Affine input", x, f"N, {len(self.params['w'])}", convert=False)
        self.x = x
        return x @ self.params["w"] + self.params["b"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.grads["w"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["w"].T


def gradient_errors(layer: Layer, x: np.ndarray, seed: int = 0,
                    eps: float = 1e-6) -> dict[str, float]:
    """Relative error of each gradient of ``layer`` against central differences.

    Uses the scalar L = sum(forward(x) · R) with a fixed random R, so dL/d(output) = R.
    Returns {"x": error of dL/dx, then one entry per parameter}. Use float64 for
    ``x`` and the parameters: in float32 rounding swamps the comparison.
    """
    r = np.random.default_rng(validate.seed("seed", seed)).standard_normal(layer.forward(x).shape)
    analytic = {"x": layer.backward(r.astype(x.dtype))}
    analytic.update({key: layer.grads[key].copy() for key in layer.params})
    return gradcheck.projected_errors(lambda: layer.forward(x), {"x": x, **layer.params},
                                      analytic, r, eps)


class SoftmaxCrossEntropy:
    """Mean cross-entropy of softmax(logits) against integer labels.

    forward(logits (N, K), labels (N,) ints in [0, K)) → scalar loss;
    backward() → dLoss/dlogits = (softmax(logits) − one_hot(labels)) / N.
    """

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        validate.array("SoftmaxCrossEntropy logits", logits, "N, classes", convert=False)
        loss, self.dlogits = softmax_cross_entropy(logits, labels)
        return loss

    def backward(self) -> np.ndarray:
        return self.dlogits


class ConvNet:
    """conv k×k×F → ReLU → conv k×k×F → ReLU → flatten → dense → softmax cross-entropy.

    Input (N, H, W, C) NHWC; stride 1, VALID padding, so the dense layer sees
    (H − 2(k−1)) · (W − 2(k−1)) · F features (24·24·32 = 18,432 for MNIST).
    """

    def __init__(self, input_shape: tuple[int, int, int] = (28, 28, 1), filters: int = 32,
                 kernel_size: int = 3, classes: int = 10, seed: int = 0, dtype=np.float32):
        rng = np.random.default_rng(validate.seed("seed", seed))
        h, w, c = input_shape
        h2, w2 = (output_size(output_size(n, kernel_size, 1, "VALID"),
                                   kernel_size, 1, "VALID") for n in (h, w))
        self.layers: list[Layer] = [
            Conv(c, filters, kernel_size, rng=rng, dtype=dtype), ReLU(),
            Conv(filters, filters, kernel_size, rng=rng, dtype=dtype), ReLU(),
            Flatten(), Affine(h2 * w2 * filters, classes, rng=rng, dtype=dtype),
        ]
        self.criterion = SoftmaxCrossEntropy()
        self.dtype = np.dtype(dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits (N, classes) of a batch x (N, H, W, C)."""
        x = np.asarray(x, self.dtype)
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward pass and mean cross-entropy; call :meth:`backward` next for gradients."""
        return self.criterion.forward(self.forward(x), labels)

    def backward(self) -> np.ndarray:
        """Fill every layer's ``grads`` and return dLoss/dx (N, H, W, C)."""
        grad = self.criterion.backward()
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def parameters(self) -> list[tuple[str, Layer, str]]:
        """(label, layer, key) for every parameter, e.g. ("2.Conv.w", layer, "w")."""
        return [(f"{i}.{type(layer).__name__}.{key}", layer, key)
                for i, layer in enumerate(self.layers) for key in layer.params]

    def params_and_grads(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The parameters and their latest gradients as two dicts keyed by the labels of
        :meth:`parameters`; the arrays are the layers' own, so an optimiser's
        ``update(params, grads)`` changes the network in place. Call after :meth:`backward`.
        """
        entries = self.parameters()
        return ({label: layer.params[key] for label, layer, key in entries},
                {label: layer.grads[key] for label, layer, key in entries})

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Predicted class of each image, computed batch by batch."""
        return np.concatenate([self.forward(x[i:i + batch_size]).argmax(axis=1)
                               for i in range(0, len(x), batch_size)])


def train(model: ConvNet, optimizer: SGD | Adam, x: np.ndarray, y: np.ndarray,
          epochs: int = 1, batch_size: int = 64, seed: int = 0, progress: bool = True,
          on_epoch: Callable[[int], None] | None = None) -> list[float]:
    """Minibatch training; returns the loss of every step.

    x (N, H, W, C), y (N,) integer labels. Each epoch visits the examples in a
    fresh random order; a tqdm bar shows the running loss. ``on_epoch(epoch)``
    runs after each epoch (e.g. to measure test accuracy).
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    batch_size = validate.count("batch_size", batch_size)
    epochs = validate.count("epochs", epochs, minimum=0)
    rng = np.random.default_rng(validate.seed("seed", seed))
    steps_per_epoch = -(-len(x) // batch_size)
    losses: list[float] = []
    with tqdm(total=epochs * steps_per_epoch, desc="training", disable=not progress) as bar:
        for epoch in range(epochs):
            order = rng.permutation(len(x))
            for start in range(0, len(x), batch_size):
                batch = order[start:start + batch_size]
                losses.append(model.loss(x[batch], y[batch]))
                model.backward()
                optimizer.update(*model.params_and_grads())
                bar.update()
                if len(losses) % 10 == 0:
                    bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses[-10:]):.3f}")
            if on_epoch:
                on_epoch(epoch)
    return losses


def accuracy(model: ConvNet, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """Fraction of examples whose predicted class equals the label."""
    return float(np.mean(model.predict(x, batch_size) == np.asarray(y)))
