"""The course's two optimisers, with one interface: ``update(params, grads)``.

``params`` and ``grads`` are dicts of arrays with the same keys and shapes;
``update`` changes the arrays of ``params`` in place and keeps per-key state
(velocity, moments), so a key must name the same parameter at every step.
``learning_rate()`` is the step size the next ``update`` uses:
lr · decay_rate^(t / decay_steps) after t updates, with the exponent rounded
down when ``staircase`` (decay_rate=1, the default, keeps it constant).
"""

import numpy as np

from ..core import validate

__all__ = ["SGD", "Adam"]


class Schedule:
    """Step size lr · decay_rate^(t / decay_steps), the exponent floored when ``staircase``."""

    def __init__(self, lr: float, decay_rate: float, decay_steps: int, staircase: bool) -> None:
        self.lr = validate.finite_number("lr", lr, strictly_above=0.0)
        self.decay_rate = validate.finite_number("decay_rate", decay_rate, strictly_above=0.0)
        if self.decay_rate > 1:
            raise ValueError(f"decay_rate must be at most 1, got {decay_rate}")
        self.decay_steps = validate.count("decay_steps", decay_steps)
        self.staircase = bool(staircase)
        self.t = 0

    def learning_rate(self) -> float:
        p = self.t / self.decay_steps
        return self.lr * self.decay_rate ** (np.floor(p) if self.staircase else p)


class SGD(Schedule):
    """Gradient descent with optional (heavy-ball) momentum μ: v ← μ v − lr g; p ← p + v.

    momentum=0 is plain SGD, p ← p − lr g. The Udacity assignment lesson 04 follows
    trains by plain SGD from 10.0, ×0.1 every 5,000 steps (staircase) with clipping.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, *, decay_rate: float = 1.0,
                 decay_steps: int = 1000, staircase: bool = False) -> None:
        super().__init__(lr, decay_rate, decay_steps, staircase)
        self.momentum = validate.finite_number("momentum", momentum, minimum=0.0)
        if self.momentum >= 1:
            raise ValueError(f"momentum must be below 1, got {momentum}")
        self.velocity: dict = {}

    def update(self, params: dict, grads: dict) -> None:
        """Update the arrays of ``params`` in place from ``grads`` (same keys and shapes)."""
        lr = self.learning_rate()
        self.t += 1
        for k, g in grads.items():
            v = self.velocity.setdefault(k, np.zeros_like(params[k]))
            v *= self.momentum
            v -= lr * g
            params[k] += v


class Adam(Schedule):
    """Adam (Kingma & Ba 2015, Algorithm 1): steps from bias-corrected running means of g and g².

    p ← p − lr · m̂ / (√v̂ + eps), m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).
    """

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, *, decay_rate: float = 1.0, decay_steps: int = 1000,
                 staircase: bool = False) -> None:
        super().__init__(lr, decay_rate, decay_steps, staircase)
        self.beta1, self.beta2 = (validate.rate(name, value) for name, value
                                  in (("beta1", beta1), ("beta2", beta2)))
        if self.beta1 == 1 or self.beta2 == 1:
            raise ValueError(f"beta1 and beta2 must be below 1, got {beta1}, {beta2}")
        self.eps = validate.finite_number("eps", eps, minimum=0.0)
        self.m: dict = {}
        self.v: dict = {}

    def update(self, params: dict, grads: dict) -> None:
        """Update the arrays of ``params`` in place from ``grads`` (same keys and shapes)."""
        lr = self.learning_rate()
        self.t += 1
        for k, g in grads.items():
            m = self.m.setdefault(k, np.zeros_like(g))
            v = self.v.setdefault(k, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1 ** self.t)
            v_hat = v / (1 - self.beta2 ** self.t)
            params[k] -= lr * m_hat / (np.sqrt(v_hat) + self.eps)
