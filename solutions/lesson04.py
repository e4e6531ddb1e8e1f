"""Worked solutions of lesson 04's code exercises (checked by ``course_utils.exercises.lesson04``)."""

import numpy as np


def avg_pool_forward(a):
    """(N, T, F) -> (N, F): the mean over the T windows."""
    return a.mean(axis=1)


def avg_pool_backward(dm, T):
    """(N, F) -> (N, T, F): every window contributed 1/T of the mean, so each gets dm / T."""
    return np.repeat(dm[:, None, :] / T, T, axis=1)


def conv1d_backward(dz, e, W):
    """Backward of z[:, t] = b + sum_j e[:, t + j] @ W[j], one kernel offset j at a time."""
    k = W.shape[0]
    T_out = dz.shape[1]
    de = np.zeros_like(e)
    dW = np.zeros_like(W)
    for j in range(k):
        window = e[:, j:j + T_out]                            # (N, T', E): the words at offset j
        dW[j] = np.einsum("nte,ntf->ef", window, dz)          # sum over examples and windows
        de[:, j:j + T_out] += dz @ W[j].T                     # each word collects from every window it is in
    db = dz.sum(axis=(0, 1))
    return de, dW, db
