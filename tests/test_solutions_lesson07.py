"""Lesson 07: every worked solution passes its exercise's checker, and a plausible mistake fails it."""

from __future__ import annotations

import numpy as np
from exercise_testing import checker_tests, load_solutions

from course_utils.exercises import lesson07

S07 = load_solutions("lesson07")


def threshold_with_swapped_costs(y, prob, cost_fn=5.0, cost_fp=1.0):
    return S07.cost_threshold(y, prob, cost_fn=cost_fp, cost_fp=cost_fn)   # 5 FP + FN instead of 5 FN + FP


def threshold_of_the_lower_tie(y, prob, cost_fn=5.0, cost_fp=1.0):
    candidates = np.append(np.unique(prob), np.inf)                        # low to high: ties go low
    called = prob[None, :] >= candidates[:, None]
    costs = cost_fn * np.sum(~called & (y == 1), axis=1) + cost_fp * np.sum(called & (y == 0), axis=1)
    best = int(np.argmin(costs))
    return float(candidates[best]), float(costs[best])


def table_with_bin_centres(y, prob, n_bins=10):
    mean_prob, frac_pos, counts = S07.calibration_table(y, prob, n_bins)
    centres = (np.arange(n_bins) + 0.5) / n_bins                           # the bin's middle, not its mean
    return np.where(counts > 0, centres, np.nan), frac_pos, counts


def table_with_zeros_for_empty_bins(y, prob, n_bins=10):
    mean_prob, frac_pos, counts = S07.calibration_table(y, prob, n_bins)
    return np.nan_to_num(mean_prob), np.nan_to_num(frac_pos), counts      # an empty bin looks like "0 %"


CASES = {
    "cost_threshold": (lesson07.check_cost_threshold, S07.cost_threshold,
                       [threshold_with_swapped_costs, threshold_of_the_lower_tie]),
    "calibration_table": (lesson07.check_calibration_table, S07.calibration_table,
                          [table_with_bin_centres, table_with_zeros_for_empty_bins]),
}
test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
