"""Truncated-BPTT training: the loop the NumPy and TensorFlow trainers share, the NumPy
trainer of a :class:`~dlcourse.rnn.model.CharRNN`, and clipping by global norm.

A history is a dict of lists, one entry per training window: step, chars (characters
read so far), train_bpc, grad_norm (before clipping), lr (None where the optimiser does
not say); one per evaluation: eval_step, eval_bpc, eval_time (seconds since the start);
and seconds, the run's wall time.
"""

import time

import numpy as np
from tqdm.auto import tqdm

from ..core import validate
from .model import nats_to_bits


def global_norm(grads: dict) -> float:
    """‖g‖ = √(Σ_i ‖g_i‖²), the norm of all the gradient arrays of ``grads`` together."""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))


def clip_by_global_norm(grads: dict, max_norm: float):
    """Scale all gradients by min(1, max_norm / ‖g‖), ‖g‖ the norm of all of them together.

    Returns ``(clipped, norm)``; the direction of the update is kept, only its length
    is capped (what ``tf.clip_by_global_norm`` does).
    """
    max_norm = validate.finite_number("max_norm", max_norm, strictly_above=0.0)
    norm = global_norm(grads)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def train(model, cursors, optimizer, *, steps: int | None = None, seconds: float | None = None,
          clip: float | None = 5.0, eval_fn=None, eval_every: int = 100, callback=None,
          progress: bool = True, desc: str = "", reset_every: int | None = None) -> dict:
    """Truncated-BPTT training of a ``CharRNN`` (its ``params`` in place) on windows from
    ``cursors`` (a :class:`~dlcourse.rnn.text.BatchCursors`) with ``optimizer``
    (``update(params, grads)``, :mod:`dlcourse.nets`).

    Each window: forward and backward from the carried state (B, H), gradients clipped to
    a global norm of ``clip`` (None: not clipped), one update. The rest as in
    :func:`training_loop`; returns its history.
    """
    if clip is not None:
        clip = validate.finite_number("clip", clip, strictly_above=0.0)
    state = {"h": model.zero_state(cursors.batch_size)}

    def one_step(inputs, targets):
        loss, grads, state["h"] = model.loss_and_grads(inputs, targets, state["h"])
        if not np.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss}: lower the learning rate or "
                                     "clip the gradients")
        if clip is None:
            norm = global_norm(grads)
        else:
            grads, norm = clip_by_global_norm(grads, clip)
        lr = optimizer.learning_rate()
        optimizer.update(model.params, grads)
        return loss, norm, lr

    def reset():
        state["h"] = np.zeros_like(state["h"])

    return training_loop(model, cursors, one_step, steps=steps, seconds=seconds,
                         eval_fn=eval_fn, eval_every=eval_every, callback=callback,
                         progress=progress,
                         desc=desc or f"NumPy RNN ({model.activation}, {model.combine})",
                         reset=reset, reset_every=reset_every)


def training_loop(model, cursors, one_step, *, steps: int | None, seconds: float | None,
                  eval_fn=None, eval_every: int = 100, callback=None, progress: bool = True,
                  desc: str = "", reset=None, reset_every: int | None = None) -> dict:
    """The loop shared by the NumPy and TensorFlow trainers.

    one_step(inputs, targets) -> (loss_nats, grad_norm, learning_rate or None) trains on
    one window from ``cursors``. Stops after ``steps`` windows or ``seconds`` of wall
    time, whichever comes first; calls eval_fn(model) -> held-out bpc and
    callback(step, model) (e.g. to store samples) every ``eval_every`` steps and at the
    end; calls reset() (zero the carried state) before every ``reset_every``-th window
    (None: never), so the model also learns to start from the zero state it is
    evaluated and sampled from. Returns the history described in the module docstring.
    """
    if steps is None and seconds is None:
        raise ValueError("give steps, seconds or both")
    if steps is not None:
        steps = validate.count("steps", steps, minimum=0)
    if seconds is not None:
        seconds = validate.finite_number("seconds", seconds, minimum=0.0)
    eval_every = validate.count("eval_every", eval_every)
    if reset_every is not None:
        reset_every = validate.count("reset_every", reset_every)
    hist = {k: [] for k in ("step", "chars", "train_bpc", "grad_norm", "lr",
                            "eval_step", "eval_bpc", "eval_time")}
    start = time.perf_counter()
    bar = tqdm(total=steps, disable=not progress, desc=desc)
    step = 0

    def evaluate():
        if eval_fn is not None:
            hist["eval_step"].append(step)
            hist["eval_bpc"].append(eval_fn(model))
            hist["eval_time"].append(time.perf_counter() - start)
        if callback is not None:
            callback(step, model)

    while (steps is None or step < steps) and (
            seconds is None or time.perf_counter() - start < seconds):
        if step % eval_every == 0:
            evaluate()
        if reset_every and step and step % reset_every == 0:
            reset()
        inputs, targets = cursors.next()
        loss, norm, lr = one_step(inputs, targets)
        step += 1
        hist["step"].append(step)
        hist["chars"].append(step * cursors.chars_per_window)
        hist["train_bpc"].append(nats_to_bits(loss))
        hist["grad_norm"].append(norm)
        hist["lr"].append(lr)
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(bpc=f"{np.mean(hist['train_bpc'][-20:]):.3f}")
    bar.close()
    evaluate()
    hist["seconds"] = time.perf_counter() - start
    return hist
