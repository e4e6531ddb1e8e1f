"""Every worked solution in solutions/ passes its exercise's checker, and a wrong answer fails it."""

from __future__ import annotations

import numpy as np
from exercise_testing import checker_tests, load_solutions

from course_utils.exercises import lesson01, lesson02, lesson04

S01, S02, S04 = load_solutions("lesson01"), load_solutions("lesson02"), load_solutions("lesson04")


def wrong_rnn_step_backward(dh, cache):
    x, h_prev, W_x, W_h, h = cache
    da = dh                                     # forgot the tanh slope
    return da @ W_x.T, da @ W_h.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def wrong_bigram(train_ids, val_ids, V):
    counts = np.ones(V)                         # a unigram, not a bigram
    np.add.at(counts, train_ids, 1)
    return float(-np.mean(np.log(counts[val_ids[1:]] / counts.sum())))


def wrong_lstm_backward(dhs, caches, dh_T, dc_T):
    return S02.lstm_backward(dhs, caches, dh_T, np.zeros_like(dc_T))   # drops the gradient at c_T


def wrong_conv1d_backward(dz, e, W):
    de, dW, db = S04.conv1d_backward(dz, e, W)
    return de, dW, dz.sum(axis=(0, 1)) / dz.shape[1]                # the bias gradient averaged


def sum_not_product(f):
    return f.sum(axis=0)


def forgot_one_over_T(dm, T):
    return np.repeat(dm[:, None, :], T, axis=1)


CASES = {
    "rnn_step_backward": (lesson01.check_rnn_step_backward, S01.rnn_step_backward, [wrong_rnn_step_backward]),
    "memory_path": (lesson01.check_memory_path, S01.memory_path_gradient, [sum_not_product]),
    "bigram": (lesson02.check_bigram_cross_entropy, S02.bigram_cross_entropy, [wrong_bigram]),
    "bptt_final_state": (lesson02.check_bptt_with_final_state, S02.lstm_backward, [wrong_lstm_backward]),
    "average_pool": (lambda fn: lesson04.check_average_pool(S04.avg_pool_forward, fn), S04.avg_pool_backward,
                     [forgot_one_over_T]),
    "conv1d_by_offsets": (lesson04.check_conv1d_backward_by_offsets, S04.conv1d_backward,
                          [wrong_conv1d_backward]),
}


test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
