"""Worked solutions of lesson 01's code exercises (checked by ``course_utils.exercises.lesson01``)."""

import numpy as np


def rnn_step_backward(dh, cache):
    """Back through ``h = tanh(a)``, ``a = x W_x + h_prev W_h + b``: (dx, dh_prev, dW_x, dW_h, db)."""
    x, h_prev, W_x, W_h, h = cache
    da = dh * (1 - h ** 2)          # tanh' = 1 - tanh^2, and h is tanh(a): no need to keep a
    dx = da @ W_x.T                 # a depends on x through W_x: (N, H) @ (H, D)
    dh_prev = da @ W_h.T            # ... and on h_prev through W_h: the only path back in time
    dW_x = x.T @ da                 # one outer product per example, summed over the batch: (D, H)
    dW_h = h_prev.T @ da            # (H, H)
    db = da.sum(axis=0)             # the bias is added to every row
    return dx, dh_prev, dW_x, dW_h, db


def memory_path_gradient(f):
    """dc_T/dc_0 along the cell state: c_t = f_t c_{t-1} + i_t g_t gives dc_{t-1} = dc_t f_t, every step."""
    return np.prod(f, axis=0)       # (T, N, H) -> (N, H): the product of the forget gates over the steps
