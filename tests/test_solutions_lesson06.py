"""Lesson 06: every worked solution passes its exercise's checker, and a plausible mistake fails it."""

from __future__ import annotations

import torch.nn.functional as F
from exercise_testing import checker_tests, load_solutions
from torch import nn

from course_utils.exercises import lesson06

S06 = load_solutions("lesson06")


def step_without_zero_grad(model, optimizer, X, Y, clip_norm):
    model.train()
    loss = F.cross_entropy(model(X), Y)
    loss.backward()                                 # adds to whatever an earlier backward pass left in .grad
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return loss.item(), float(norm)


def step_in_eval_mode(model, optimizer, X, Y, clip_norm):
    loss = F.cross_entropy(model(X), Y)             # forgot model.train(): dropout stays off
    optimizer.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return loss.item(), float(norm)


def params_with_one_lstm_bias(state):
    params = S06.hybrid_params_from_torch(state)
    return {**params, "lstm.b": state["lstm.bias_ih_l0"]}          # forgot bias_hh_l0


def params_with_a_reshaped_kernel(state):
    params = S06.hybrid_params_from_torch(state)
    k, E, n_filters = params["conv.W"].shape
    return {**params, "conv.W": state["conv.weight"].reshape(k, E, n_filters)}   # the right shape, scrambled


CASES = {
    "train_step": (lesson06.check_torch_train_step, S06.train_step,
                   [step_without_zero_grad, step_in_eval_mode]),
    "hybrid_params_from_torch": (lesson06.check_hybrid_params_from_torch, S06.hybrid_params_from_torch,
                                 [params_with_one_lstm_bias, params_with_a_reshaped_kernel]),
}
test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
