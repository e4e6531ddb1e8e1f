"""Checkers for the exercises of lesson 07 (pneumonia detection from chest X-rays with a PyTorch CNN)."""

from __future__ import annotations

import numpy as np

from course_utils.exercises.checking import expect_close, expect_shape, report


def _labels_and_probabilities(rng, n: int, separation: float, decimals: int | None = None):
    """``y (n,)`` in {0, 1}, ``prob (n,)`` in (0, 1): a classifier whose logits differ by ``separation``."""
    y = rng.integers(0, 2, n)
    prob = 1 / (1 + np.exp(-(separation * (y - 0.5) + rng.standard_normal(n))))
    return y, (prob if decimals is None else np.round(prob, decimals))


def _total_cost(y, prob, threshold, cost_fn, cost_fp) -> float:
    """``cost_fn * FN + cost_fp * FP`` when an image counts as pneumonia at ``prob >= threshold``."""
    called = prob >= threshold
    missed = int(np.sum(~called & (y == 1)))
    false_alarms = int(np.sum(called & (y == 0)))
    return cost_fn * missed + cost_fp * false_alarms


def _cost_threshold_reference(y, prob, cost_fn, cost_fp):
    best_t, best_cost = np.inf, _total_cost(y, prob, np.inf, cost_fn, cost_fp)      # call nothing pneumonia
    for t in sorted(set(prob.tolist()), reverse=True):            # from high to low: a tie keeps the higher
        cost = _total_cost(y, prob, t, cost_fn, cost_fp)
        if cost < best_cost:
            best_t, best_cost = t, cost
    return best_t, best_cost


def check_cost_threshold(cost_threshold, seed: int = 0) -> None:
    """Exercise: ``cost_threshold(y, prob, cost_fn=5.0, cost_fp=1.0) -> (threshold, cost)``.

    ``y (N,)`` true labels in {0, 1}, ``prob (N,)`` predicted probabilities of pneumonia; an image counts
    as pneumonia when ``prob >= threshold``. The candidates are every distinct value of ``prob`` and
    ``np.inf`` (nothing counts as pneumonia). Return the candidate with the lowest total cost
    ``cost_fn * FN + cost_fp * FP`` (among equal costs, the highest threshold) and that cost. Checked
    against a direct count at every candidate, on cases with tied probabilities, several cost ratios, and
    cases where the best is to call everything or nothing pneumonia.
    """
    rng = np.random.default_rng(seed)
    errors = {}
    cases = []
    for name, n, separation, decimals, cost_fn, cost_fp in [
            ("5 FN + FP, tied probabilities", 200, 2.5, 2, 5.0, 1.0),
            ("FN + FP", 150, 3.0, None, 1.0, 1.0),
            ("FN + 5 FP", 150, 2.0, None, 1.0, 5.0),
            ("50 FN + FP, a pneumonia scored lowest: call everything", 40, 0.5, 3, 50.0, 1.0),
            ("FN + 50 FP, a normal image scored highest: call nothing", 40, 0.5, 3, 1.0, 50.0)]:
        y, prob = _labels_and_probabilities(rng, n, separation, decimals)
        if "everything" in name:        # one missed pneumonia costs more than every false alarm together
            y, prob = np.append(y, 1), np.append(prob, prob.min() / 2)
        if "nothing" in name:           # one false alarm costs more than every missed pneumonia together
            y, prob = np.append(y, 0), np.append(prob, (1 + prob.max()) / 2)
        cases.append((name, y, prob, cost_fn, cost_fp))
    # Two thresholds with the same lowest cost, 1 (0.9 misses one pneumonia, 0.7 raises one false alarm)
    order = rng.permutation(5)
    cases.append(("FN + FP, a tie: the higher threshold", np.array([1, 0, 1, 0, 0])[order],
                  np.array([0.9, 0.8, 0.7, 0.2, 0.1])[order], 1.0, 1.0))
    for name, y, prob, cost_fn, cost_fp in cases:
        expected_t, expected_cost = _cost_threshold_reference(y, prob, cost_fn, cost_fp)
        ends = {"call everything": prob.min(), "call nothing": np.inf, "a tie": 0.9}
        assert all(expected_t == t for key, t in ends.items() if key in name), \
            "internal check of the exercise failed"
        answer = cost_threshold(y.copy(), prob.copy(), cost_fn=cost_fn, cost_fp=cost_fp)
        assert isinstance(answer, tuple) and len(answer) == 2, \
            "cost_threshold should return two numbers: (threshold, cost)"
        threshold, cost = (float(a) for a in answer)
        expected = "inf (call nothing pneumonia)" if np.isinf(expected_t) else f"{expected_t:.6g}"
        got = f"{threshold:.6g} (cost {_total_cost(y, prob, threshold, cost_fn, cost_fp):g})"
        assert threshold == expected_t, \
            f"threshold ({name}): expected {expected} (cost {expected_cost:g}), got {got}"
        errors[f"threshold, {name}"] = 0.0                  # a candidate value: equal, or wrong
        errors[f"cost, {name}"] = expect_close(f"cost ({name})", cost, float(expected_cost), tol=1e-12)
    report("cost_threshold", errors)


def _away_from_edges(prob, n_bins: int):
    """``prob`` with the values within 1e-9 of an inner bin edge moved off it (conventions differ there)."""
    scaled = prob * n_bins
    near = (np.abs(scaled - np.round(scaled)) < 1e-9) & (prob > 0) & (prob < 1)
    return np.where(near, prob + 1e-6, prob)


def check_calibration_table(calibration_table, seed: int = 0) -> None:
    """Exercise: ``calibration_table(y, prob, n_bins=10) -> (mean_prob, frac_pos, counts)``.

    ``y (N,)`` true labels in {0, 1}, ``prob (N,)`` predicted probabilities; the three answers have shape
    ``(n_bins,)``. Bin ``b`` holds the probabilities with ``b / n_bins <= prob < (b + 1) / n_bins``; the last
    bin holds 1.0 too. Per bin: ``mean_prob`` the mean predicted probability, ``frac_pos`` the share of
    positives (``y == 1``), ``counts`` the number of examples; an empty bin has count 0 and NaN for both
    means. Checked against scikit-learn's ``calibration_curve`` (``strategy="uniform"``, which leaves empty
    bins out) and ``np.histogram``, on an overconfident classifier, one with empty bins and exact 0 and 1,
    and five bins.
    """
    from sklearn.calibration import calibration_curve

    rng = np.random.default_rng(seed)
    errors = {}
    for name, n, n_bins in [("overconfident", 300, 10), ("empty bins, exact 0 and 1", 120, 10),
                            ("five bins", 60, 5)]:
        if name.startswith("empty"):
            prob = np.concatenate([rng.uniform(0, 0.25, n // 2), rng.uniform(0.75, 1, n // 2 - 4),
                                   [0.0, 0.0, 1.0, 1.0]])
        else:
            prob = 1 / (1 + np.exp(-3 * rng.standard_normal(n)))
        prob = _away_from_edges(prob, n_bins)
        y = (rng.random(len(prob)) < 0.15 + 0.7 * prob).astype(np.int64)   # the truth is less extreme
        answer = calibration_table(y.copy(), prob.copy(), n_bins=n_bins)
        assert isinstance(answer, tuple) and len(answer) == 3, \
            "calibration_table should return three arrays: (mean_prob, frac_pos, counts)"
        mean_prob, frac_pos, counts = (expect_shape(key, a, (n_bins,))
                                       for key, a in zip(("mean_prob", "frac_pos", "counts"), answer))
        expected_counts = np.histogram(prob, bins=np.linspace(0, 1, n_bins + 1))[0]
        assert np.array_equal(counts, expected_counts), \
            f"counts ({name}): expected {expected_counts.tolist()}, got {counts.tolist()}"
        empty = expected_counts == 0
        if name.startswith("empty"):
            assert empty.any() and prob.max() == 1.0, "internal check of the exercise failed"
        for key, value in (("mean_prob", mean_prob), ("frac_pos", frac_pos)):
            value = np.asarray(value, dtype=np.float64)
            assert np.array_equal(np.isnan(value), empty), \
                f"{key} ({name}): expected NaN exactly in the empty bins {np.flatnonzero(empty).tolist()}, " \
                f"got NaN in {np.flatnonzero(np.isnan(value)).tolist()}"
        frac_ref, mean_ref = calibration_curve(y, prob, n_bins=n_bins, strategy="uniform")
        errors[f"mean_prob, {name}"] = expect_close(f"mean_prob ({name}, non-empty bins)",
                                                    np.asarray(mean_prob, np.float64)[~empty], mean_ref,
                                                    tol=1e-12)
        errors[f"frac_pos, {name}"] = expect_close(f"frac_pos ({name}, non-empty bins)",
                                                   np.asarray(frac_pos, np.float64)[~empty], frac_ref,
                                                   tol=1e-12)
    report("calibration_table", errors)
