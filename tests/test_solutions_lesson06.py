"""Lesson 06: every worked solution passes its exercise's checker, and a plausible mistake fails it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import lesson06

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def solutions(lesson: str):
    spec = importlib.util.spec_from_file_location(f"solutions_{lesson}", SOLUTIONS / f"{lesson}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S06 = solutions("lesson06")


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
WRONG = [(name, wrong) for name, (_, _, wrongs) in CASES.items() for wrong in wrongs]


@pytest.mark.parametrize("name", CASES)
def test_the_solution_passes(name, capsys):
    check, solution, _ = CASES[name]
    check(solution)
    assert ": correct (" in capsys.readouterr().out


@pytest.mark.parametrize("name,wrong", WRONG, ids=[wrong.__name__ for _, wrong in WRONG])
def test_a_wrong_answer_fails(name, wrong):
    with pytest.raises(AssertionError):
        CASES[name][0](wrong)


def test_a_missing_key_is_named():
    def without_dense_bias(state):
        return {k: v for k, v in S06.hybrid_params_from_torch(state).items() if k != "dense.b"}

    with pytest.raises(AssertionError, match=r"missing keys \['dense.b'\]"):
        lesson06.check_hybrid_params_from_torch(without_dense_bias)
