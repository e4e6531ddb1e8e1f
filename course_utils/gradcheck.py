"""Gradient checking: compare ``backward`` with centred finite differences.

For a layer ``y = layer(x)`` we pick a random upstream gradient ``dy`` and use the scalar
``L = sum(y * dy)``; then ``dL/dtheta`` is exactly what ``backward(dy)`` must produce for every
parameter ``theta`` and for the input. Each entry is estimated by

    (L(theta + eps) - L(theta - eps)) / (2 eps)

whose error shrinks like ``eps**2``. Run it in float64: float32 has too few digits for the
difference of two nearly equal losses.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def rel_error(analytic, numeric) -> float:
    """``max|a - n| / max(max|a|, max|n|)``: the worst entry's error relative to the array's scale.

    Scaling by the largest entry (not entry by entry) keeps tiny gradients, whose finite
    differences are mostly rounding noise, from raising false alarms. The price: an error is
    measured against the array's scale, so a check below 1e-7 proves every entry right to 1e-7
    of the largest gradient, not to 1e-7 of its own size (tests check exact zeros, such as a
    padding row's gradient, separately).
    """
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.shape != n.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {n.shape}")
    scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - n).max() / scale)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of the scalar ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored afterwards.
    """
    if x.dtype != np.float64:
        raise ValueError(f"numerical_gradient: expected a float64 array, got {x.dtype} "
                         "(build the layer with dtype=np.float64 for gradient checks)")
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        f_plus = f()
        x[idx] = old - eps
        f_minus = f()
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def check_layer_gradients(layer, x, *, rng=None, eps: float = 1e-5, **forward_kwargs) -> dict[str, float]:
    """Relative error of ``layer.backward`` against finite differences, per parameter and for the input.

    Returns ``{"x": err, "<param>": err, ...}`` (no ``"x"`` for integer inputs such as token ids).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    x = np.array(x, copy=True)
    y = layer.forward(x, **forward_kwargs)
    dy = rng.standard_normal(y.shape)

    def loss() -> float:
        return float(np.sum(layer.forward(x, **forward_kwargs) * dy))

    layer.forward(x, **forward_kwargs)
    dx = layer.backward(dy)
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    errors = {}
    if x.dtype.kind == "f":
        errors["x"] = rel_error(dx, numerical_gradient(loss, x, eps))
    for name, p in layer.params.items():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, p, eps))
    return errors


def check_model_gradients(model, loss_fn, x, y, *, eps: float = 1e-5) -> dict[str, float]:
    """Relative errors of a whole model's gradients, through the loss, for every parameter and the input.

    ``loss_fn(model.forward(x), y) -> (loss, doutputs)``, e.g. ``softmax_cross_entropy``. Dropout
    must be off (``training=False`` is used) so that every call computes the same function.
    Returns ``{"x": err, "<param>": err, ...}`` (no ``"x"`` for integer inputs such as token ids).
    """
    x = np.array(x, copy=True)

    def loss() -> float:
        return loss_fn(model.forward(x, training=False), y)[0]

    dx = model.backward(loss_fn(model.forward(x, training=False), y)[1])
    analytic = {name: g.copy() for name, g in model.grads.items()}
    errors = {"x": rel_error(dx, numerical_gradient(loss, x, eps))} if x.dtype.kind == "f" else {}
    for name, p in model.params.items():
        errors[name] = rel_error(analytic[name], numerical_gradient(loss, p, eps))
    return errors


def check_loss_gradient(loss_fn, x, *args, eps: float = 1e-5, **kwargs) -> float:
    """Relative error of the gradient returned by ``loss_fn(x, *args) -> (loss, dx)``."""
    x = np.array(x, dtype=np.float64, copy=True)
    _, dx = loss_fn(x, *args, **kwargs)
    return rel_error(dx, numerical_gradient(lambda: loss_fn(x, *args, **kwargs)[0], x, eps))
