"""Checkers for the exercises of lesson 06 (the hybrid in PyTorch)."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises.checking import expect_close, expect_shape, report
from course_utils.lessons.next_word.torch_hybrid import CNNLSTMTorch

# The sizes of the small models the checkers build: (V, T, E, F, k, H, head). E, F and H differ, so that a
# transpose in the wrong order gives a wrong shape, not a silently wrong number.
_SMALL_MODELS = [(12, 5, 3, 4, 1, 5, "last"), (9, 6, 4, 3, 3, 2, "max")]


def _small_net(rng, V, T, E, n_filters, k, H, head, dropout=0.5):
    """A float64 ``CNNLSTMTorch`` with every parameter drawn from N(0, 0.5), both LSTM biases non-zero."""
    net = CNNLSTMTorch(V, T, embed_dim=E, filters=n_filters, kernel_size=k, hidden_size=H, head=head,
                       dropout=dropout).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(0.5 * rng.standard_normal(tuple(p.shape))))
    return net


def _reference_train_step(model, optimizer, X, Y, clip_norm):
    model.train()
    loss = F.cross_entropy(model(X), Y)
    optimizer.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return loss.item(), float(norm)


def check_torch_train_step(train_step, seed: int = 0) -> None:
    """Exercise: ``train_step(model, optimizer, X, Y, clip_norm) -> (loss, grad_norm)``, one training step.

    ``X (N, T)`` int64 word ids and ``Y (N,)`` int64 targets (tensors); ``model`` maps ids to logits
    ``(N, V)``; ``optimizer`` is a ``torch.optim`` optimizer over its parameters. The step switches
    dropout on (the model arrives in evaluation mode), computes the mean cross-entropy, ignores gradients
    left in ``.grad`` by an earlier backward pass, backpropagates, clips the global gradient norm to
    ``clip_norm`` and takes one optimizer step; it returns the loss and the norm *before* clipping, as
    floats. Checked against the same two steps on a twin model with the same dropout masks, with SGD
    (momentum) and Adam, clipping on and off: the returned numbers and every parameter after each step.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    cases = [("SGD", lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.9), 0.05),
             ("Adam", lambda p: torch.optim.Adam(p, lr=0.01), 0.05),
             ("Adam", lambda p: torch.optim.Adam(p, lr=0.01), 1e6)]
    with torch.random.fork_rng(devices=[]):            # the dropout masks do not move the caller's stream
        for case, ((name, make_optimizer, clip_norm), sizes) in enumerate(zip(cases, _SMALL_MODELS * 2)):
            V, T = sizes[:2]
            ref = _small_net(rng, *sizes)
            yours = copy.deepcopy(ref)                  # the same weights
            opt_ref, opt_yours = make_optimizer(ref.parameters()), make_optimizer(yours.parameters())
            label = f"{name}, clip {clip_norm:g}"
            for step in (1, 2):
                X = torch.from_numpy(rng.integers(0, V, (8, T)))
                Y = torch.from_numpy(rng.integers(0, V, 8))
                for net in (ref, yours):
                    net.eval()                                   # as after an evaluation pass
                    for p in net.parameters():                   # stale gradients of an earlier backward
                        p.grad = torch.from_numpy(rng.standard_normal(tuple(p.shape)))
                torch.manual_seed(1000 * seed + 10 * case + step)
                loss_ref, norm_ref = _reference_train_step(ref, opt_ref, X, Y, clip_norm)
                torch.manual_seed(1000 * seed + 10 * case + step)
                answer = train_step(yours, opt_yours, X, Y, clip_norm)
                assert isinstance(answer, tuple) and len(answer) == 2, \
                    "train_step should return two numbers: (loss, grad_norm)"
                if clip_norm < 1:
                    assert norm_ref > clip_norm, "internal check of the exercise failed: no clipping"
                loss, norm = (float(a.detach()) if isinstance(a, torch.Tensor) else float(a) for a in answer)
                errors[f"loss, {label}, step {step}"] = expect_close(
                    f"loss ({label}, step {step})", loss, loss_ref, tol=1e-10)
                errors[f"grad_norm, {label}, step {step}"] = expect_close(
                    f"grad_norm before clipping ({label}, step {step})", norm, norm_ref, tol=1e-10)
                for (key, p_ref), (_, p) in zip(ref.named_parameters(), yours.named_parameters()):
                    errors[f"{key}, {label}, step {step}"] = expect_close(
                        f"{key} after step {step} ({label})", p.detach().numpy(), p_ref.detach().numpy(),
                        tol=1e-10)
    report("train_step", errors)


_TORCH_KEYS = ["embedding.weight", "conv.weight", "conv.bias", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
               "lstm.bias_ih_l0", "lstm.bias_hh_l0", "dense.weight", "dense.bias"]


def check_hybrid_params_from_torch(hybrid_params_from_torch, seed: int = 0) -> None:
    """Exercise: ``hybrid_params_from_torch(state) -> params``, a ``CNNLSTMTorch``'s weights in NumPy.

    ``state``: the module's ``state_dict()`` as NumPy arrays, ``embedding.weight (V, E)``,
    ``conv.weight (F, E, k)``, ``conv.bias (F,)``, ``lstm.weight_ih_l0 (4H, F)``, ``lstm.weight_hh_l0
    (4H, H)``, ``lstm.bias_ih_l0 (4H,)``, ``lstm.bias_hh_l0 (4H,)``, ``dense.weight (V, H)``, ``dense.bias
    (V,)``. ``params``: a dict with the keys of lesson 05's weight file, ``embedding.W (V, E)``,
    ``conv.W (k, E, F)``, ``conv.b (F,)``, ``lstm.W_x (F, 4H)``, ``lstm.W_h (H, 4H)``, ``lstm.b (4H,)``,
    ``dense.W (H, V)``, ``dense.b (V,)``. Checked on small float64 models with random weights (both LSTM
    biases non-zero, as after training) against ``CNNLSTMTorch.to_numpy()``, and by the logits of the
    NumPy twin that holds your arrays against PyTorch's.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for V, T, E, n_filters, k, H, head in _SMALL_MODELS:
        net = _small_net(rng, V, T, E, n_filters, k, H, head).eval()
        state = {key: value.detach().numpy().copy() for key, value in net.state_dict().items()}
        assert sorted(state) == sorted(_TORCH_KEYS), "internal check of the exercise failed: state_dict keys"
        params = hybrid_params_from_torch(state)
        twin = net.to_numpy()                                      # the library's copy: the reference
        expected = twin.named_params()
        assert isinstance(params, dict), f"expected a dict of arrays, got {type(params).__name__}"
        missing, extra = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
        assert not missing and not extra, f"params: missing keys {missing}, unexpected keys {extra}"
        for name, value in expected.items():
            errors[f"{name}, k={k}"] = expect_close(name, params[name], value.copy(), tol=1e-12)
        for name, p in twin.named_params().items():                # the NumPy twin, holding your arrays
            p[...] = expect_shape(name, params[name], p.shape)
        X = rng.integers(0, V, (6, T))
        ours = twin.forward(X, training=False)
        with torch.no_grad():
            theirs = net(torch.from_numpy(X)).numpy()
        errors[f"logits, k={k}, head={head}"] = expect_close("logits of the NumPy twin", ours, theirs,
                                                             tol=1e-10)
    report("hybrid_params_from_torch", errors)
