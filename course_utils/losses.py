"""Losses. Each returns ``(loss, grad)``: the mean loss as a Python float and its gradient
with respect to the first argument, ready to feed into ``model.backward``.

All three are written so that inputs of ±1000 give finite values and no warnings: the
softmax subtracts the row maximum before ``exp``, and binary cross-entropy uses
``log(1 + exp(-|x|))`` instead of ``log(sigmoid(x))``.
"""

from __future__ import annotations

import numpy as np

from .layers.activations import sigmoid


def _check_finite(x, name: str):
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise ValueError(f"{name}: expected a floating-point array, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise FloatingPointError(f"{name}: expected finite values, got {bad} NaN or infinite value(s); "
                                 "training has diverged (try a smaller learning rate or gradient clipping)")
    return x


def softmax(logits, axis: int = -1):
    """Probabilities along ``axis``; stable for any finite logits."""
    z = logits - np.max(logits, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(logits, axis: int = -1):
    """``log(softmax(logits))`` computed without taking the log of a tiny number."""
    z = logits - np.max(logits, axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax_cross_entropy(logits, targets, ignore_index: int | None = None):
    """Mean of ``-log softmax(logits)[target]`` over the counted positions.

    Shapes: ``logits (N, V)`` with ``targets (N,)``, or ``logits (N, T, V)`` with ``targets (N, T)``;
    targets are integer class ids in ``[0, V)``. Positions whose target equals ``ignore_index``
    (padding, say) count neither in the loss nor in the mean.
    Returns ``(loss, dlogits)`` with ``dlogits`` the shape of ``logits``.
    """
    logits = _check_finite(logits, "softmax_cross_entropy logits")
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        raise ValueError("softmax_cross_entropy targets: expected integer class ids, "
                         f"got dtype {targets.dtype}")
    if logits.ndim < 2:
        raise ValueError("softmax_cross_entropy logits: expected shape (N, V) or (N, T, V), "
                         f"got {logits.shape}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"softmax_cross_entropy: expected targets of shape {logits.shape[:-1]} "
                         f"for logits of shape {logits.shape} (..., V), got {targets.shape}")
    V = logits.shape[-1]
    counted = np.ones(targets.shape, bool) if ignore_index is None else targets != ignore_index
    if not counted.any():
        raise ValueError("softmax_cross_entropy: every target equals ignore_index; nothing to average")
    t = targets[counted]
    if t.min() < 0 or t.max() >= V:
        raise ValueError(f"softmax_cross_entropy targets: expected ids in [0, {V}), "
                         f"got {t.min()} to {t.max()}")

    # Only the counted rows, as (n, V); without ignore_index that is every row, and no copy is made.
    z = logits.reshape(-1, V) if ignore_index is None else logits[counted]
    n = len(t)
    rows = np.arange(n)
    z = z - z.max(axis=-1, keepdims=True)            # a new array, reused below: logits stay as they are
    z_target = z[rows, t]
    probs = np.exp(z, out=z)                         # unnormalised softmax, in place of z
    total = probs.sum(axis=-1, keepdims=True)
    loss = (np.log(total[:, 0]) - z_target).sum() / n   # -log p_t = log(sum exp z) - z_t
    probs /= total                                   # softmax
    probs[rows, t] -= 1.0                            # d(-log p_t)/dz = p - onehot(t)
    probs /= n
    if ignore_index is None:
        return float(loss), probs.reshape(logits.shape)
    dlogits = np.zeros_like(logits)
    dlogits[counted] = probs
    return float(loss), dlogits


def mse(pred, target):
    """Mean squared error over all elements; returns ``(loss, dpred)``. Shapes must match."""
    pred = _check_finite(pred, "mse pred")
    target = _check_finite(target, "mse target")
    if pred.shape != target.shape:
        raise ValueError(f"mse: expected target of shape {pred.shape} (same as pred), got {target.shape}")
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def bce_with_logits(logits, targets):
    """Binary cross-entropy on raw scores (no sigmoid before it); returns ``(loss, dlogits)``.

    ``loss = mean(max(x, 0) - x*y + log(1 + exp(-|x|)))``, the stable form of
    ``-y log sigmoid(x) - (1-y) log(1 - sigmoid(x))``. Targets are in ``[0, 1]``, same shape.
    """
    x = _check_finite(logits, "bce_with_logits logits")
    y = _check_finite(targets, "bce_with_logits targets").astype(x.dtype, copy=False)
    if x.shape != y.shape:
        raise ValueError(f"bce_with_logits: expected targets of shape {x.shape} (same as logits), "
                         f"got {y.shape}")
    if y.min() < 0 or y.max() > 1:
        raise ValueError(f"bce_with_logits targets: expected values in [0, 1], got {y.min()} to {y.max()}")
    loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return float(loss.mean()), (sigmoid(x) - y) / x.size
