"""Lesson 03's worked solutions pass their checkers, and plausible wrong answers fail them."""

from __future__ import annotations

import numpy as np
from exercise_testing import checker_tests, load_solutions

from course_utils.exercises import lesson03

S03 = load_solutions("lesson03")


def nearest_only(X_train, y_train, X, k):
    return S03.analog_forecast(X_train, y_train, X, 1)              # forgot to average the k analogues


def nearest_by_last_value(X_train, y_train, X, k):
    distances = np.abs(X[:, -1, 0][:, None] - X_train[:, -1, 0][None, :])   # only the newest value compared
    return y_train[np.argsort(distances, axis=1)[:, :k], 0].mean(axis=1, keepdims=True)


def ar_without_intercept(X, y):
    coef, *_ = np.linalg.lstsq(X[:, :, 0], y[:, 0], rcond=None)     # no column of ones: forced through 0
    return coef, 0.0


def ar_newest_lag_first(X, y):
    coef, intercept = S03.fit_linear_ar(X, y)
    return coef[::-1], intercept                                      # the lags in the wrong order


CASES = {
    "analog_forecast": (lesson03.check_analog_forecast, S03.analog_forecast,
                        [nearest_only, nearest_by_last_value]),
    "linear_ar_fit": (lesson03.check_linear_ar_fit, S03.fit_linear_ar,
                      [ar_without_intercept, ar_newest_lag_first]),
}
test_the_solution_passes, test_a_wrong_answer_fails = checker_tests(CASES)
