"""Checkers for the exercises of lesson 04 (a CNN that predicts the next word)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import expect_close, report
from course_utils.gradcheck import numerical_gradient
from course_utils.layers import Conv1D


def check_average_pool(avg_pool_forward, avg_pool_backward, seed: int = 0) -> None:
    """Exercise: global *average* pooling, ``(N, T, F) -> (N, F)``, and its backward ``(N, F) -> (N, T, F)``.

    ``avg_pool_forward(a) -> m`` and ``avg_pool_backward(dm, T) -> da``. The forward is checked against
    the mean over time, the backward against centred differences with a random upstream gradient.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for N, T, F in [(1, 1, 1), (4, 6, 3), (2, 9, 5)]:
        a = rng.standard_normal((N, T, F))
        G = rng.standard_normal((N, F))
        errors[f"forward {N, T, F}"] = expect_close("m", avg_pool_forward(a), a.mean(axis=1), tol=1e-12)
        numeric = numerical_gradient(lambda: float(np.sum(avg_pool_forward(a) * G)), a)
        errors[f"backward {N, T, F}"] = expect_close("da", avg_pool_backward(G, T), numeric)
    report("average pooling", errors)


def check_conv1d_backward_by_offsets(conv1d_backward, seed: int = 0) -> None:
    """Exercise: the Conv1D backward as a loop over the ``k`` kernel offsets, without im2col.

    ``conv1d_backward(dz, e, W) -> (de, dW, db)`` for ``z[:, t] = b + sum_j e[:, t + j] @ W[j]``, with
    ``e (N, T, E)``, ``W (k, E, F)``, ``dz (N, T - k + 1, F)``. Checked against ``course_utils.Conv1D``.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for N, T, E, F, k in [(2, 5, 3, 4, 1), (3, 8, 4, 2, 3), (1, 4, 2, 3, 4)]:
        layer = Conv1D(E, F, k, rng=rng, dtype=np.float64)
        layer.params["b"][...] = rng.standard_normal(F)
        e = rng.standard_normal((N, T, E))
        dz = rng.standard_normal((N, T - k + 1, F))
        layer.forward(e)
        de_ref = layer.backward(dz)
        de, dW, db = conv1d_backward(dz, e, layer.params["W"].copy())
        errors[f"de k={k}"] = expect_close("de", de, de_ref, tol=1e-10)
        errors[f"dW k={k}"] = expect_close("dW", dW, layer.grads["W"], tol=1e-10)
        errors[f"db k={k}"] = expect_close("db", db, layer.grads["b"], tol=1e-10)
    report("conv1d_backward by offsets", errors)
