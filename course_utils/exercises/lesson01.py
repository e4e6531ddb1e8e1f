"""Checkers for the exercises of lesson 01 (an LSTM cell by hand)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import expect_close, report
from course_utils.gradcheck import numerical_gradient
from course_utils.layers.lstm import lstm_step_forward


def rnn_step_forward(x, h_prev, W_x, W_h, b):
    """One step of a plain tanh RNN: ``h = tanh(x W_x + h_prev W_h + b)``, and the cache for the backward.

    Inputs: x (N, D), h_prev (N, H), W_x (D, H), W_h (H, H), b (H,). Returns h (N, H) and
    ``cache = (x, h_prev, W_x, W_h, h)``.
    """
    h = np.tanh(x @ W_x + h_prev @ W_h + b)
    return h, (x, h_prev, W_x, W_h, h)


def _random_rnn_step(rng):
    N, D, H = 3, 4, 5
    return dict(x=rng.standard_normal((N, D)), h_prev=rng.standard_normal((N, H)),
                W_x=rng.standard_normal((D, H)) * 0.5, W_h=rng.standard_normal((H, H)) * 0.5,
                b=rng.standard_normal(H))


def check_rnn_step_backward(rnn_step_backward, seed: int = 0) -> None:
    """Exercise: ``rnn_step_backward(dh, cache) -> (dx, dh_prev, dW_x, dW_h, db)``, the backward of
    :func:`rnn_step_forward`.

    Checked against centred differences in float64, for three random steps with a random upstream ``dh``.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for case in range(3):
        arrays = _random_rnn_step(rng)
        dh = rng.standard_normal((3, 5))
        _, cache = rnn_step_forward(**arrays)
        answer = rnn_step_backward(dh, cache)
        assert isinstance(answer, tuple) and len(answer) == 5, \
            "rnn_step_backward should return five arrays: (dx, dh_prev, dW_x, dW_h, db)"

        def loss():
            return float(np.sum(rnn_step_forward(**arrays)[0] * dh))

        for name, key, value in zip(("dx", "dh_prev", "dW_x", "dW_h", "db"),
                                    ("x", "h_prev", "W_x", "W_h", "b"), answer):
            errors[f"{name} (case {case})"] = expect_close(name, value, numerical_gradient(loss, arrays[key]))
    report("rnn_step_backward", errors)


def check_memory_path(memory_path_gradient, seed: int = 0) -> None:
    """Exercise: ``memory_path_gradient(f) -> dc_T/dc_0`` along the cell state alone, for forget gates ``f``.

    ``f`` has shape (T, N, H): the forget gate of every step. The answer has shape (N, H): how much of a
    gradient at ``c_T`` reaches ``c_0`` through ``c_t = f_t * c_{t-1} + ...`` alone. Checked against the
    library's step functions: with the input and candidate gates shut (``i = 0``), the memory path is the
    only path from ``c_0`` to ``c_T``.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for T in (1, 4, 10):
        N, H = 2, 3
        b = np.zeros(4 * H)
        b[:H] = -50.0                                   # input gate shut: i = sigmoid(-50), about 2e-22
        b[H:2 * H] = rng.normal(0, 2, H)                # forget gates, different per unit
        W_x, W_h = np.zeros((1, 4 * H)), np.zeros((H, 4 * H))
        x = np.zeros((N, 1))
        c0 = rng.standard_normal((N, H))
        fs, h, c = [], np.zeros((N, H)), c0
        for _ in range(T):
            h, c, cache = lstm_step_forward(x, h, c, W_x, W_h, b)
            fs.append(cache[6])                          # the forget gate of this step, (N, H)
        expected = np.prod(fs, axis=0)                   # dc_T/dc_0 element by element
        answer = memory_path_gradient(np.stack(fs))
        errors[f"T={T}"] = expect_close("dc_T/dc_0", answer, expected, tol=1e-10)
        # The same number from the cell itself: c_T = (product of f) * c_0 when nothing is written
        assert np.allclose(c, expected * c0, rtol=1e-9), "internal check of the exercise failed"
    report("memory_path_gradient", errors)
