"""Forecasting helpers: chronological split, windows, the training-only scaler, baselines, free running."""

import numpy as np
import pytest

from course_utils.lessons.forecasting import (
    LinearAR,
    StandardScaler,
    free_run,
    make_windows,
    moving_average_forecast,
    persistence_forecast,
    split_series,
)


def test_split_series_keeps_time_order_and_covers_everything():
    series = np.arange(20.0)
    train, val, test = split_series(series, (0.7, 0.15, 0.15))
    assert (len(train), len(val), len(test)) == (14, 3, 3)
    # in order, nothing lost or shuffled
    np.testing.assert_array_equal(np.concatenate([train, val, test]), series)
    assert train[-1] < val[0] < test[0]
    assert [len(p) for p in split_series(np.zeros(1000), (0.6, 0.2, 0.2))] == [600, 200, 200]
    with pytest.raises(ValueError, match="summing to 1"):
        split_series(series, (0.7, 0.2, 0.2))
    with pytest.raises(ValueError, match="too short"):
        split_series(np.arange(3.0), (0.9, 0.05, 0.05))
    with pytest.raises(ValueError, match=r"1-D array \(T,\), got shape \(4, 5\)"):
        split_series(np.zeros((4, 5)))


def test_make_windows_shapes_and_alignment():
    X, y = make_windows(np.arange(6.0), 3)
    assert X.shape == (3, 3, 1) and y.shape == (3, 1)
    np.testing.assert_array_equal(X[:, :, 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y[:, 0], [3, 4, 5])           # the value right after each window
    X1, y1 = make_windows(np.array([1.0, 2.0]), 1)
    assert X1.shape == (1, 1, 1) and y1.tolist() == [[2.0]]
    with pytest.raises(ValueError, match="need at least 4 values"):
        make_windows(np.arange(3.0), 3)
    with pytest.raises(ValueError, match="lookback must be a positive integer"):
        make_windows(np.arange(5.0), 0)


def test_scaler_uses_only_the_data_it_was_fitted_on():
    train = np.array([0.0, 2.0])                                 # mean 1, std 1
    scaler = StandardScaler().fit(train)
    assert (scaler.mean_, scaler.scale_) == (1.0, 1.0)
    np.testing.assert_allclose(scaler.transform(np.array([3.0, -1.0])), [2.0, -2.0])   # training statistics
    other = StandardScaler().fit(np.array([0.0, 2.0, 100.0]))    # a leak would change them
    assert other.mean_ != scaler.mean_
    x = np.random.default_rng(0).standard_normal((4, 3, 1)) * 5 + 7
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(x)), x, rtol=1e-12)
    with pytest.raises(RuntimeError, match="call fit"):
        StandardScaler().transform(x)
    with pytest.raises(ValueError, match="constant"):
        StandardScaler().fit(np.ones(5))


def test_persistence_and_moving_average():
    X = np.array([[1.0, 2.0, 6.0], [0.0, 0.0, 3.0]])[:, :, None]   # (2, 3, 1)
    np.testing.assert_array_equal(persistence_forecast(X), [[6.0], [3.0]])
    np.testing.assert_allclose(moving_average_forecast(X), [[3.0], [1.0]])
    np.testing.assert_allclose(moving_average_forecast(X, k=2), [[4.0], [1.5]])
    with pytest.raises(ValueError, match=r"\(N, lookback, 1\), got \(2, 3\)"):
        persistence_forecast(X[:, :, 0])
    with pytest.raises(ValueError, match="k must be between 1 and the lookback 3"):
        moving_average_forecast(X, k=4)


def test_linear_ar_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    series = np.zeros(5000)
    # AR(2): x_n = 0.5 x_{n-2} + 0.3 x_{n-1} + 2 + noise
    for n in range(2, len(series)):
        series[n] = 0.5 * series[n - 2] + 0.3 * series[n - 1] + 2.0 + 0.1 * rng.standard_normal()
    X, y = make_windows(series, 2)
    ar = LinearAR().fit(X, y)
    np.testing.assert_allclose(ar.coef_, [0.5, 0.3], atol=0.02)  # oldest lag first
    assert ar.intercept_ == pytest.approx(2.0, abs=0.1)
    assert ar.predict(X).shape == (len(X), 1)
    np.testing.assert_allclose(ar.predict(np.array([[[1.0], [2.0]]])), [[ar.coef_ @ [1, 2] + ar.intercept_]])


def test_linear_ar_predicts_a_clean_sine_exactly():
    # A clean sine obeys x_{n+1} = 2 cos(dt) x_n - x_{n-1}: linear in the past, so least squares is exact
    s = np.sin(np.arange(300) * 0.1)
    X, y = make_windows(s, 10)
    ar = LinearAR().fit(X[:200], y[:200])
    np.testing.assert_allclose(ar.predict(X[200:]), y[200:], atol=1e-8)
    assert np.mean((persistence_forecast(X) - y) ** 2) > 1e-3  # while persistence is not
    with pytest.raises(RuntimeError, match="call fit"):
        LinearAR().predict(X)
    with pytest.raises(ValueError, match="fitted with lookback 10"):
        ar.predict(X[:, :5])
    with pytest.raises(ValueError, match=r"expected y of shape \(290, 1\), got \(290,\)"):
        LinearAR().fit(X, y[:, 0])


def test_free_run_feeds_predictions_back():
    seen = []

    def plus_one(x):                                             # (1, L, 1) -> (1, 1): last value + 1
        seen.append(x[0, :, 0].copy())
        return x[:, -1, :] + 1

    out = free_run(plus_one, np.array([0.0, 5.0, 10.0]), 4)
    np.testing.assert_array_equal(out, [11.0, 12.0, 13.0, 14.0])
    # the oldest value dropped, the prediction appended
    np.testing.assert_array_equal(seen[1], [5.0, 10.0, 11.0])
    np.testing.assert_array_equal(seen[3], [11.0, 12.0, 13.0])  # after L steps: only its own predictions
    # Fed back, an exact linear model continues a clean sine
    s = np.sin(np.arange(300) * 0.1)
    X, y = make_windows(s, 10)
    ar = LinearAR().fit(X, y)
    np.testing.assert_allclose(free_run(ar.predict, s[100:110], 30), s[110:140], atol=1e-6)
    with pytest.raises(ValueError, match="one value for one window"):
        free_run(lambda x: x, np.zeros(3), 2)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        free_run(plus_one, np.zeros(3), 0)
