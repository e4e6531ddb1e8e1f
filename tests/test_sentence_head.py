"""Lesson 08: the logistic regression on sentence vectors (the second opinion beside the LSTM)."""

import numpy as np
import pytest

from course_utils.lessons.emoji.sentence_head import SentenceHead, fit_sentence_head


def _blobs(n: int, seed: int, spread: float):
    """Five classes of unit vectors around five random directions in 384 dimensions."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(5, 384))
    y = np.arange(n) % 5
    E = centres[y] + spread * rng.normal(size=(n, 384))
    return E / np.linalg.norm(E, axis=1, keepdims=True), y


def test_the_head_predicts_as_scikit_learn_does():
    from sklearn.linear_model import LogisticRegression

    E, y = _blobs(200, 0, 3.0)
    fitted = LogisticRegression(C=1.0, max_iter=5000).fit(E, y)
    head = SentenceHead(fitted.coef_, fitted.intercept_, 1.0)
    np.testing.assert_allclose(head.predict_proba(E), fitted.predict_proba(E), rtol=1e-12, atol=1e-14)


def test_fit_sentence_head_chooses_c_on_validation_only():
    E_train, y_train = _blobs(300, 1, 4.0)
    E_val, y_val = _blobs(100, 2, 4.0)
    head, table = fit_sentence_head(E_train, y_train, E_val, y_val, grid=(1e-4, 1.0, 100.0))
    assert list(table.columns) == ["C", "train_accuracy", "val_accuracy", "val_loss", "chosen"]
    assert table["chosen"].sum() == 1
    best = table.sort_values(["val_accuracy", "val_loss"], ascending=[False, True]).iloc[0]
    assert head.C == best["C"] and table.loc[table["chosen"], "C"].item() == best["C"]
    # C = 1e-4 leaves the weights near zero, so its probabilities are near 1/5: it must lose
    assert table.loc[table["C"] == 1e-4, "val_loss"].item() > np.log(5) - 0.01
    assert best["val_accuracy"] > 0.5


def test_a_head_round_trips_through_json():
    import json

    E, y = _blobs(100, 3, 3.0)
    head, _ = fit_sentence_head(E, y, E, y, grid=(1.0,))
    again = SentenceHead.from_dict(json.loads(json.dumps(head.to_dict())))
    np.testing.assert_array_equal(again.predict_proba(E), head.predict_proba(E))


@pytest.mark.parametrize("coef, intercept, C, message", [
    (np.zeros((4, 384)), np.zeros(5), 1.0, r"coef \(5, 384\)"),
    (np.zeros((5, 384)), np.zeros(6), 1.0, r"intercept \(5,\)"),
    (np.full((5, 384), np.inf), np.zeros(5), 1.0, "finite"),
    (np.zeros((5, 384)), np.zeros(5), 0.0, "C: expected a positive number"),
    (np.zeros((5, 384)), np.zeros(5), "1", "C: expected a positive number"),
])
def test_bad_weights_are_refused(coef, intercept, C, message):
    with pytest.raises(ValueError, match=message):
        SentenceHead(coef, intercept, C)


def test_predict_wants_sentence_vectors():
    head = SentenceHead(np.zeros((5, 384)), np.zeros(5), 1.0)
    with pytest.raises(ValueError, match=r"expected sentence vectors \(N, 384\), got shape \(2, 300\)"):
        head.predict_proba(np.zeros((2, 300)))


def test_every_class_must_be_in_the_training_labels():
    E, y = _blobs(50, 4, 1.0)
    with pytest.raises(ValueError, match="every label 0 to 4"):
        fit_sentence_head(E[y < 4], y[y < 4], E, y, grid=(1.0,))


def test_weights_beyond_the_bound_are_refused():
    with pytest.raises(ValueError, match="at most 1e\\+06 in absolute value"):
        SentenceHead(np.full((5, 384), 1e308), np.zeros(5), 1.0)


@pytest.mark.parametrize("field", ["C", "intercept"])
def test_a_huge_json_integer_is_a_value_error(field):
    d = SentenceHead(np.zeros((5, 384)), np.zeros(5), 1.0).to_dict()
    d[field] = 10 ** 400 if field == "C" else [10 ** 400] * 5
    with pytest.raises(ValueError):
        SentenceHead.from_dict(d)
