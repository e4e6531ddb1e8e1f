"""Time-series forecasting helpers: chronological splits, windows, a scaler, baselines, free running.

    train, val, test = split_series(series, (0.7, 0.15, 0.15))   # in time order, no shuffling
    scaler = StandardScaler().fit(train)                         # statistics of the training part only
    X_train, y_train = make_windows(scaler.transform(train), 10) # (N, 10, 1), (N, 1)
    ar = LinearAR().fit(X_train, y_train)                        # least squares on training windows
    ar.predict(X_test), persistence_forecast(X_test), moving_average_forecast(X_test)

Windows are batch-first, ``(N, lookback, 1)``, the shape ``course_utils.LSTM`` reads; every
forecast is ``(N, 1)``, the shape of the targets.
"""

from __future__ import annotations

import numpy as np


def _check_series(series, name: str = "series") -> np.ndarray:
    series = np.asarray(series)
    if series.dtype.kind not in "fiu":
        raise ValueError(f"{name}: expected numbers, got dtype {series.dtype}")
    if series.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array (T,), got shape {series.shape}")
    return series


def _check_windows(X) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[2] != 1 or X.shape[1] == 0:
        raise ValueError(f"expected windows of shape (N, lookback, 1), got {X.shape}")
    return X


def split_series(series, fractions=(0.7, 0.15, 0.15)) -> list[np.ndarray]:
    """Cut ``series (T,)`` into consecutive parts, in time order (no shuffling).

    ``fractions`` must be positive and sum to 1; part ``k`` has ``round(T * cumsum)`` boundaries,
    so the parts cover the series exactly once. Returns a list of 1-D arrays (views of ``series``).
    """
    series = _check_series(series)
    fractions = np.asarray(fractions, dtype=np.float64)
    if fractions.ndim != 1 or len(fractions) < 2 or np.any(fractions <= 0) or abs(fractions.sum() - 1) > 1e-9:
        raise ValueError("fractions: expected two or more positive numbers summing to 1, "
                         f"got {fractions.tolist()}")
    bounds = np.round(np.cumsum(fractions) * len(series)).astype(int)
    bounds[-1] = len(series)
    parts = np.split(series, bounds[:-1])
    if any(len(p) == 0 for p in parts):
        raise ValueError(f"a series of length {len(series)} is too short for fractions {fractions.tolist()}")
    return parts


def make_windows(series, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows: the ``lookback`` past values as input, the next value as target.

    ``series (T,) -> X (T - lookback, lookback, 1), y (T - lookback, 1)`` with
    ``X[n, :, 0] = series[n : n + lookback]`` and ``y[n, 0] = series[n + lookback]``.
    Window one split at a time, so that no target of one split sits in another's windows.
    """
    series = _check_series(series)
    if not isinstance(lookback, (int, np.integer)) or lookback < 1:
        raise ValueError(f"lookback must be a positive integer, got {lookback!r}")
    if len(series) <= lookback:
        raise ValueError(f"a series of length {len(series)} has no window of lookback {lookback} "
                         f"plus a target: need at least {lookback + 1} values")
    n = len(series) - lookback
    idx = np.arange(n)[:, None] + np.arange(lookback)[None, :]      # (N, lookback)
    X = series[idx][:, :, None]                                      # (N, lookback, 1)
    y = series[lookback:][:, None]                                   # (N, 1)
    return X, y


class StandardScaler:
    """``x' = (x - mean) / std`` with the mean and standard deviation of the data given to ``fit``.

    Fit it on the training part only; validation and test data are then transformed with the
    training statistics, so nothing about them leaks into the model. Any shape is accepted by
    ``transform`` and ``inverse_transform`` (one series: a single mean and scale).
    """

    def __init__(self):
        self.mean_: float | None = None
        self.scale_: float | None = None

    def fit(self, x) -> StandardScaler:
        x = np.asarray(x, dtype=np.float64)
        if x.size < 2:
            raise ValueError(f"StandardScaler.fit: need at least 2 values, got shape {x.shape}")
        std = float(x.std())
        if not std > 0:
            raise ValueError("StandardScaler.fit: the data are constant (standard deviation 0)")
        self.mean_, self.scale_ = float(x.mean()), std
        return self

    def _fitted(self):
        if self.mean_ is None:
            raise RuntimeError("StandardScaler: call fit (on the training data) first")

    def transform(self, x) -> np.ndarray:
        self._fitted()
        return (np.asarray(x, dtype=np.float64) - self.mean_) / self.scale_

    def inverse_transform(self, x) -> np.ndarray:
        self._fitted()
        return np.asarray(x, dtype=np.float64) * self.scale_ + self.mean_

    def __repr__(self) -> str:
        return f"StandardScaler(mean_={self.mean_}, scale_={self.scale_})"


def persistence_forecast(X) -> np.ndarray:
    """The last value of each window: ``X (N, L, 1) -> (N, 1)``. "Tomorrow is like today"."""
    X = _check_windows(X)
    return X[:, -1, :].copy()


def moving_average_forecast(X, k: int | None = None) -> np.ndarray:
    """The mean of the last ``k`` values of each window (all ``L`` by default): ``(N, L, 1) -> (N, 1)``."""
    X = _check_windows(X)
    k = X.shape[1] if k is None else k
    if not 1 <= k <= X.shape[1]:
        raise ValueError(f"k must be between 1 and the lookback {X.shape[1]}, got {k}")
    return X[:, -k:, :].mean(axis=1)


class LinearAR:
    """A linear autoregressive model ``y = X[:, :, 0] @ coef + intercept``, fitted by least squares.

    ``fit(X (N, L, 1), y (N, 1))`` solves ``min ||[X, 1] w - y||^2`` with ``numpy.linalg.lstsq``
    (the minimum-norm solution if the windows are collinear); ``predict(X (M, L, 1)) -> (M, 1)``.
    ``coef_`` is ``(L,)``, oldest lag first; ``intercept_`` a float.
    """

    def __init__(self):
        self.coef_: np.ndarray | None = None
        self.intercept_: float | None = None

    def fit(self, X, y) -> LinearAR:
        X = _check_windows(X)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (len(X), 1):
            raise ValueError(f"LinearAR.fit: expected y of shape ({len(X)}, 1), got {y.shape}")
        A = np.column_stack([X[:, :, 0].astype(np.float64), np.ones(len(X))])   # (N, L + 1)
        w, *_ = np.linalg.lstsq(A, y[:, 0], rcond=None)
        self.coef_, self.intercept_ = w[:-1], float(w[-1])
        return self

    def predict(self, X) -> np.ndarray:
        if self.coef_ is None:
            raise RuntimeError("LinearAR: call fit first")
        X = _check_windows(X)
        if X.shape[1] != len(self.coef_):
            raise ValueError(f"LinearAR.predict: fitted with lookback {len(self.coef_)}, "
                             f"got windows {X.shape}")
        return (X[:, :, 0].astype(np.float64) @ self.coef_ + self.intercept_)[:, None]


def free_run(predict, window, steps: int) -> np.ndarray:
    """Forecast ``steps`` values ahead by feeding each prediction back in as the newest input.

    ``predict`` maps windows ``(1, L, 1)`` to ``(1, 1)`` (a model, ``LinearAR().predict``, ...);
    ``window (L,)`` holds the last ``L`` observed values. Returns the forecast, ``(steps,)``.
    After ``L`` steps the model sees only its own outputs, so its errors compound.
    """
    window = _check_series(window, "window").astype(np.float64)
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    buf = list(window)
    out = np.empty(steps)
    for s in range(steps):
        x = np.asarray(buf[-len(window):])[None, :, None]            # (1, L, 1)
        pred = np.asarray(predict(x))
        if pred.size != 1:
            raise ValueError("free_run: predict should return one value for one window, "
                             f"got shape {pred.shape}")
        out[s] = float(pred.reshape(()))
        buf.append(out[s])
    return out
