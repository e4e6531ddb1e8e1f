"""course_utils.metrics.paired_gain: the gain of a model over a baseline on the same examples."""

import numpy as np
import pytest

from course_utils.metrics import paired_gain


def test_paired_gain_is_the_mean_difference_and_its_standard_error():
    model = np.array([1.0, 2.0, 3.0, 4.0])
    baseline = np.array([2.0, 2.0, 5.0, 5.0])          # differences 1, 0, 2, 1
    gain, se = paired_gain(model, baseline)
    assert gain == pytest.approx(1.0)
    assert se == pytest.approx(np.std([1, 0, 2, 1], ddof=1) / 2)


def test_pairing_removes_what_the_examples_share():
    rng = np.random.default_rng(0)
    difficulty = rng.uniform(0, 10, 500)                 # hard examples are hard for both models
    model = difficulty + rng.normal(0, 0.1, 500)
    baseline = difficulty + 0.05 + rng.normal(0, 0.1, 500)
    gain, se = paired_gain(model, baseline)
    unpaired_se = np.sqrt(model.var(ddof=1) / 500 + baseline.var(ddof=1) / 500)
    assert gain > se                                     # a small, consistent gain is seen ...
    assert se < unpaired_se / 5 and gain < unpaired_se   # ... that unpaired errors would drown
    assert paired_gain(baseline, model)[0] == pytest.approx(-gain)


@pytest.mark.parametrize("model, baseline", [
    (np.ones(3), np.ones(4)), (np.ones((2, 2)), np.ones((2, 2))), (np.ones(1), np.ones(1)),
    (np.array([1.0, np.inf]), np.ones(2)),
])
def test_paired_gain_refuses_unpaired_or_infinite_losses(model, baseline):
    with pytest.raises(ValueError, match="paired_gain"):
        paired_gain(model, baseline)
