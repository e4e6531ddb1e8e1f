"""Worked solutions of lesson 03's code exercises (checked by ``course_utils.exercises.lesson03``)."""

import numpy as np


def analog_forecast(X_train, y_train, X, k):
    """(M, 1): for each window of X, the mean target of the k nearest training windows."""
    train = X_train[:, :, 0]                                  # (N, L): one row per training window
    windows = X[:, :, 0]                                      # (M, L)
    # Squared distances between every window and every training window, (M, N), by broadcasting.
    # The square root would not change which windows are nearest, so it is left out.
    distances = np.sum((windows[:, None, :] - train[None, :, :]) ** 2, axis=2)
    # The k smallest of each row; a stable sort keeps the earlier window on a tie
    nearest = np.argsort(distances, axis=1, kind="stable")[:, :k]   # (M, k) indices into the training set
    # Only training targets are averaged: a window's own future never enters its forecast
    return y_train[nearest, 0].mean(axis=1, keepdims=True)   # (M, k) -> (M, 1), the shape of the targets


def fit_linear_ar(X, y):
    """Least squares for y = X[:, :, 0] @ coef + intercept: coef (L,), oldest lag first, and the intercept."""
    N = len(X)
    # A column of ones lets the intercept be fitted like any other weight. Without it the line is forced
    # through 0, which is wrong for any series whose mean is not 0.
    A = np.column_stack([X[:, :, 0], np.ones(N)])            # (N, L + 1)
    # lstsq solves min ||A w - y||^2 stably (via an SVD); the normal equations A^T A w = A^T y give the same
    # answer here but square the condition number, which hurts when neighbouring values are nearly equal.
    w, *_ = np.linalg.lstsq(A, y[:, 0], rcond=None)
    return w[:-1], float(w[-1])                               # the window's order is kept: oldest lag first
