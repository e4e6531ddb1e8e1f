"""Checkers for the exercises of lesson 03 (forecasting a noisy sine with an LSTM)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import expect_close, expect_shape, report
from course_utils.lessons.forecasting import LinearAR, make_windows


def _analog_reference(X_train, y_train, X, k):
    """For each window, a loop: the mean target of the k training windows at the smallest distance."""
    out = np.empty((len(X), 1))
    for m, window in enumerate(X[:, :, 0]):
        distances = np.sqrt(np.sum((X_train[:, :, 0] - window) ** 2, axis=1))   # (N,)
        nearest = np.argsort(distances, kind="stable")[:k]
        out[m, 0] = np.mean(y_train[nearest, 0])
    return out


def check_analog_forecast(analog_forecast, seed: int = 0) -> None:
    """Exercise: ``analog_forecast(X_train, y_train, X, k) -> (M, 1)``, forecasting by analogues.

    ``X_train (N, L, 1)`` and ``y_train (N, 1)`` are the training windows and their targets, ``X (M, L, 1)``
    the windows to forecast. For each window of ``X``, find the ``k`` training windows nearest to it
    (Euclidean distance over the ``L`` values) and predict the mean of their targets. Checked against a
    direct loop over the windows, for several ``k`` (``k = N`` predicts the mean of all training targets),
    and on the training windows themselves with ``k = 1``, where each window is its own nearest analogue.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for N, L, M, k in [(30, 4, 6, 1), (60, 10, 9, 5), (12, 3, 5, 12)]:
        # Windows of a noisy sine at random phases, as in the lesson, and targets that depend on them
        phase = rng.uniform(0, 2 * np.pi, (N + M, 1))
        windows = np.sin(phase + 0.1 * np.arange(L)) + rng.normal(0, 0.1, (N + M, L))
        X_train, X = windows[:N, :, None], windows[N:, :, None]
        y_train = np.sin(phase[:N] + 0.1 * L) + rng.normal(0, 0.1, (N, 1))
        answer = analog_forecast(X_train.copy(), y_train.copy(), X.copy(), k)
        expected = _analog_reference(X_train, y_train, X, k)
        errors[f"N={N}, k={k}"] = expect_close(f"forecast (k={k})", answer, expected, tol=1e-12)
    own = analog_forecast(X_train.copy(), y_train.copy(), X_train.copy(), 1)
    errors["training windows, k=1"] = expect_close("forecast of the training windows with k=1", own, y_train,
                                                   tol=1e-12)
    report("analog_forecast", errors)


def check_linear_ar_fit(fit_linear_ar, seed: int = 0) -> None:
    """Exercise: ``fit_linear_ar(X, y) -> (coef, intercept)``, the linear AR model by least squares.

    ``X (N, L, 1)`` windows, ``y (N, 1)`` targets; ``coef (L,)`` (oldest lag first, the order of the
    window) and the float ``intercept`` minimise ``sum_n (X[n, :, 0] @ coef + intercept - y[n, 0])**2``.
    Checked on data that a linear model fits exactly (the answer must be the true weights), and against
    ``course_utils.lessons.forecasting.LinearAR`` on windows of noisy sines whose mean is not 0.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    # An exact linear relation: least squares must give back the weights that made the targets
    X = rng.standard_normal((40, 3, 1))
    w, b = rng.standard_normal(3), 0.7
    coef, intercept = fit_linear_ar(X.copy(), X[:, :, 0] @ w[:, None] + b)
    errors["exact coef"] = expect_close("coef", coef, w, tol=1e-8)
    errors["exact intercept"] = expect_close("intercept", float(intercept), b, tol=1e-8)
    # Noisy sines with an offset, as a real series has: compared with the library's least squares
    for L, offset in [(1, -0.8), (10, 1.5)]:
        t = np.arange(300) * 0.1
        series = offset + np.sin(t + rng.uniform(0, 2 * np.pi)) + rng.normal(0, 0.1, len(t))
        X, y = make_windows(series, L)
        reference = LinearAR().fit(X, y)
        coef, intercept = fit_linear_ar(X.copy(), y.copy())
        coef = expect_shape("coef", coef, (L,))
        errors[f"coef, L={L}"] = expect_close("coef", coef, reference.coef_, tol=1e-6)
        errors[f"intercept, L={L}"] = expect_close("intercept", float(intercept), reference.intercept_,
                                                   tol=1e-6)
    report("fit_linear_ar", errors)
