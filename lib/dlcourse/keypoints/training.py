"""Training the keypoint models on equal terms, and measuring them in pixels.

Every model is trained on scaled targets ``(n, 30)`` with Adam and a cosine-decayed
learning rate over a fixed number of gradient steps, and evaluated on held-out faces
after every epoch. The loss is :func:`dlcourse.keypoints.masked_mse` on the
coordinates (this course's way), or for a heat-map model the paper's
:func:`dlcourse.keypoints.position_nll` on its heat maps, read out by the argmax.
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .. import core
from .faces import unscale_targets
from .losses import hard_argmax, masked_mse, position_nll, rmse_pixels
from .models import heat_map_model

__all__ = ["Run", "predict_pixels", "train"]


@dataclass
class Run:
    """One training run: the model, its validation RMSE (pixels) after each epoch, seconds."""

    model: object
    val_rmse: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0


LOSSES = ("mse", "nll")  # train(loss=...): masked MSE on coordinates, or the paper's NLL


def _read_out(output: np.ndarray) -> np.ndarray:
    """Scaled coordinates ``(n, 30)`` -> pixels; heat maps ``(n, s, s, k)`` -> argmax pixels."""
    if output.ndim == 4:
        return hard_argmax(np.moveaxis(output, -1, 1)).reshape(len(output), -1)
    return unscale_targets(output)


def predict_pixels(model, images, batch_size: int = 128) -> np.ndarray:
    """``(n, 30)`` predicted keypoints in pixels for images ``(n, 96, 96, 1)``.

    A model that outputs scaled coordinates ``(n, 30)`` is unscaled; one that outputs
    heat maps ``(n, 96, 96, 15)`` (:func:`dlcourse.keypoints.models.heat_map_model`) is
    read out by the argmax of each map, as in the paper.

    The model is called eagerly, batch by batch: ``model.predict`` would trace a new graph
    for every model and every batch shape, seconds each in short runs (and TensorFlow
    then warns about retracing in the learner's output).
    """
    import keras

    images = np.asarray(images, np.float32)
    batches = [_read_out(keras.ops.convert_to_numpy(model(images[i:i + batch_size],
                                                          training=False)))
               for i in range(0, len(images), batch_size)]
    return np.concatenate(batches).astype(np.float32)


def train(model, images, targets, val_images, val_keypoints, *, steps: int, batch_size: int = 32,
          lr: float = 3e-3, evals: int = 8, seed: int = 0, loss: str = "mse",
          progress: bool = True) -> Run:
    """Train ``model`` for ``steps`` gradient steps; evaluate ``evals`` times along the way.

    model: a Keras model, or a function that builds one (e.g. ``models.sumnet``). A
    function is called after the random seed is set, so the initial weights depend on
    ``seed`` alone, not on what the notebook built or drew before.
    images ``(n, 96, 96, 1)``; targets ``(n, 30)`` SCALED to [-1, 1] (NaN = missing);
    val_keypoints ``(m, 30)`` in PIXELS. The learning rate follows a cosine from ``lr``
    to ``lr/50``. Each evaluation covers ``steps/evals`` steps (one "epoch" of the
    learning curve, whatever the size of the training set).

    loss: ``"mse"``, :func:`dlcourse.keypoints.masked_mse` on the model's coordinates; or
    ``"nll"``, the paper's: a heat-map model is cut to its heat maps
    (:func:`dlcourse.keypoints.models.heat_map_model`) and trained with
    :func:`dlcourse.keypoints.position_nll`; ``Run.model`` is then the heat-map model,
    which :func:`predict_pixels` reads out by the argmax.
    """
    import keras
    from tqdm.auto import tqdm

    images, targets = np.asarray(images, np.float32), np.asarray(targets, np.float32)
    if images.shape[0] != targets.shape[0] or images.shape[0] == 0:
        raise ValueError(f"{images.shape[0]} images but {targets.shape[0]} target rows")
    if not np.nanmax(np.abs(targets)) <= 1.5:
        raise ValueError("targets must be scaled to [-1, 1] (use scale_targets), "
                         f"got values up to {np.nanmax(np.abs(targets)):.3g}")
    steps, evals = core.count("steps", steps), core.count("evals", evals)
    if steps < evals:
        raise ValueError(f"need steps >= evals, got steps={steps}, evals={evals}")
    batch_size = core.count("batch_size", batch_size)
    lr = core.finite_number("lr", lr, strictly_above=0.0)
    seed = core.seed("seed", seed)
    loss = core.choice("loss", loss, LOSSES)
    keras.utils.set_random_seed(seed)
    if callable(model) and not isinstance(model, keras.Model):
        model = model()
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model or a function that builds one, "
                        f"got {type(model).__name__}")
    if loss == "nll":
        model = heat_map_model(model)
    schedule = keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.02)
    model.compile(keras.optimizers.Adam(schedule),
                  loss=position_nll if loss == "nll" else masked_mse)
    # Adam's moment variables made now, not in the first step: TensorFlow traces a step
    # that creates variables twice, which costs seconds per model
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(seed)
    run, per_eval = Run(model), math.ceil(steps / evals)
    bar = tqdm(total=steps, desc=model.name, disable=not progress, leave=False)
    start, done = time.perf_counter(), 0
    while done < steps:
        chunk = min(per_eval, steps - done)
        order = np.concatenate([rng.permutation(len(images))
                                for _ in range(math.ceil(chunk * batch_size / len(images)))])
        idx = order[:chunk * batch_size]
        hist = model.fit(images[idx], targets[idx], batch_size=batch_size, epochs=1,
                         shuffle=False, verbose=0)
        done += chunk
        bar.update(chunk)
        run.train_loss.append(float(hist.history["loss"][-1]))
        run.seconds = time.perf_counter() - start  # evaluation time is not training time
        run.val_rmse.append(rmse_pixels(predict_pixels(model, val_images), val_keypoints))
        start = time.perf_counter() - run.seconds
    bar.close()
    run.steps = done
    return run
