"""Checkers for the exercises of lesson 05 (CNN + LSTM: next words, in order)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import expect_close, expect_shape, report
from course_utils.gradcheck import numerical_gradient
from course_utils.metrics import cross_entropy


def _last_and_max(hs):
    """(N, T, H) -> (N, 2H): the last step's hidden state, then each unit's maximum over the steps."""
    return np.concatenate([hs[:, -1], hs.max(axis=1)], axis=1)


def check_last_and_max_head(last_and_max_forward, last_and_max_backward, seed: int = 0) -> None:
    """Exercise: a head that gives the Dense layer the last state *and* the maximum over time.

    ``last_and_max_forward(hs) -> out`` maps the LSTM outputs ``hs (N, T', H)`` to ``out (N, 2H)``:
    ``out[:, :H] = hs[:, -1]`` (the last hidden state) and ``out[:, H:] = hs.max(axis=1)`` (each unit's
    maximum over the steps). ``last_and_max_backward(dout, hs) -> dhs`` maps ``dout (N, 2H)`` to
    ``dhs (N, T', H)``. The forward is checked against a direct computation, the backward against centred
    differences with a random upstream gradient, including steps where the maximum *is* the last state
    (and ``T' = 1``, where it always is): there both halves of ``dout`` reach the same entry.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for N, T, H in [(3, 1, 2), (4, 5, 3), (2, 7, 4)]:
        hs = rng.standard_normal((N, T, H))
        # Half of the units take their maximum at the last step, clearly (no tie within eps of it)
        hs[:, -1, : H // 2] = hs[:, :, : H // 2].max(axis=1) + 0.5
        dout = rng.standard_normal((N, 2 * H))
        out = last_and_max_forward(hs.copy())
        errors[f"forward {N, T, H}"] = expect_close("out", out, _last_and_max(hs), tol=1e-12)
        numeric = numerical_gradient(lambda: float(np.sum(_last_and_max(hs) * dout)), hs)
        dhs = last_and_max_backward(dout.copy(), hs.copy())
        errors[f"backward {N, T, H}"] = expect_close("dhs", dhs, numeric)
    report("last-and-max head", errors)


def _mixture_reference(p_model, p_bigram, targets, alphas):
    losses = np.array([cross_entropy(a * p_model + (1 - a) * p_bigram, targets) for a in alphas])
    return float(alphas[np.argmin(losses)]), losses


def _random_probs(rng, N, V, sharpness):
    """(N, V) probability rows, all positive, some peaked, as a trained model's softmax."""
    logits = rng.standard_normal((N, V)) * sharpness
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def check_mixture_weight(choose_mixture_weight, seed: int = 0) -> None:
    """Exercise: ``choose_mixture_weight(p_model, p_bigram, targets, alphas) -> (best_alpha, losses)``.

    ``p_model`` and ``p_bigram`` are ``(N, V)`` probabilities (rows sum to 1, every entry positive),
    ``targets (N,)`` the ids of the words that came next, ``alphas (A,)`` the weights to try, in [0, 1].
    ``losses (A,)`` is the mean cross-entropy (nats) of the mixture ``alpha * p_model + (1 - alpha) *
    p_bigram`` on the targets for each alpha; ``best_alpha`` the alpha with the lowest loss (the first
    one on a tie). Checked against a direct computation with ``course_utils.metrics.cross_entropy``, on
    cases where each model is right on different examples, so that a mixture beats both.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    for case, (N, V, alphas) in enumerate([(50, 6, np.linspace(0, 1, 11)), (200, 20, np.linspace(0, 1, 21)),
                                           (80, 10, np.array([0.9, 0.1, 0.5, 0.3]))]):
        p_model, p_bigram = _random_probs(rng, N, V, 2.0), _random_probs(rng, N, V, 1.0)
        # Each model puts the target where it is most sure on a different half of the examples
        targets = np.where(np.arange(N) % 2 == 0, p_model.argmax(axis=1), p_bigram.argmax(axis=1))
        best, losses = choose_mixture_weight(p_model.copy(), p_bigram.copy(), targets.copy(), alphas.copy())
        ref_best, ref_losses = _mixture_reference(p_model, p_bigram, targets, alphas)
        assert 0 < ref_best < 1, "internal check of the exercise failed: the best mixture should be inside"
        losses = expect_shape("losses", losses, alphas.shape)
        errors[f"losses, case {case}"] = expect_close("losses", losses, ref_losses, tol=1e-10)
        assert np.isclose(float(best), ref_best, rtol=0, atol=1e-12), \
            f"best_alpha: expected {ref_best} (the alpha of the lowest loss), got {best}"
        errors[f"best alpha, case {case}"] = abs(float(best) - ref_best)
    report("choose_mixture_weight", errors)
