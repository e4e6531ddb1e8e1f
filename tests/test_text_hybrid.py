"""Lesson 09's CNN-LSTM hybrid: lesson 06's module with four outputs, trained with early stopping on
validation, used like every other model of the lesson (raw sentences in, class names out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from course_utils.lessons.next_word.torch_hybrid import CNNLSTMTorch
from course_utils.lessons.text_classification.data import CLASSES, Splits
from course_utils.lessons.text_classification.evaluation import comparison_table, score_model
from course_utils.lessons.text_classification.hybrid import HybridClassifier, select_hybrid, train_hybrid
from course_utils.lessons.text_classification.sequence import WordEncoder, word_vocab

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MAX_LEN = 8
SIZES = {"embed_dim": 8, "filters": 8, "kernel_size": 2, "hidden_size": 8, "dropout": 0.0}
# Every class has its own words: a separable toy set.
WORDS = {"Education": ["school", "pupils", "exam"], "Finance": ["shares", "bank", "profit"],
         "Politics": ["minister", "vote", "party"], "Sports": ["goal", "match", "coach"]}


def toy_splits(n_train: int = 6, n_other: int = 3, seed: int = 0) -> Splits:
    """Sentences of two or three class words (and 'the'), one idea group each."""
    rng = np.random.default_rng(seed)
    parts, group = {}, 0
    for name, n in (("train", n_train), ("val", n_other), ("test", n_other)):
        rows = []
        for label, words in WORDS.items():
            for _ in range(n):
                picked = rng.choice(words, size=int(rng.integers(2, 4)), replace=False)
                rows.append({"text": "the " + " the ".join(picked), "label": label, "group": group})
                group += 1
        parts[name] = pd.DataFrame(rows)
    return Splits(parts["train"], parts["val"], parts["test"])


def hybrid(splits: Splits, seed: int = 0, **sizes) -> HybridClassifier:
    vocab = word_vocab(splits.train["text"])
    torch.manual_seed(seed)
    net = CNNLSTMTorch(len(vocab), MAX_LEN, **{**SIZES, **sizes}, head="max", num_classes=len(CLASSES))
    return HybridClassifier(net, WordEncoder(vocab, MAX_LEN))


def test_training_lowers_the_loss_and_learns_the_toy_classes():
    splits = toy_splits()
    clf = hybrid(splits)
    val_texts = list(splits.val["text"])
    before = clf.cross_entropy(val_texts, splits.val["label"])
    assert abs(before - np.log(4)) < 0.1                       # the sanity anchor: an untrained guess
    history = clf.fit(splits, epochs=40, patience=40, learning_rate=0.02, progress=False)
    assert list(history.columns) == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                                     "seconds", "best"]
    assert history["train_loss"].iloc[-1] < 0.2 * history["train_loss"].iloc[0]
    assert clf.cross_entropy(val_texts, splits.val["label"]) < 0.5 * before
    assert np.mean(clf.predict(list(splits.test["text"])) == splits.test["label"]) >= 0.9
    assert clf.train_seconds > 0 and history["best"].sum() == 1


def test_the_restored_weights_are_those_of_the_best_validation_epoch():
    splits = toy_splits()
    # Validation labels one class off: the better the network learns the training split, the worse its
    # validation loss, so the best epoch is an early one and the last epochs are worse.
    shifted = splits.val.assign(label=[CLASSES[(CLASSES.index(c) + 1) % 4] for c in splits.val["label"]])
    splits = Splits(splits.train, shifted, splits.test)
    clf = hybrid(splits)
    history = clf.fit(splits, epochs=30, patience=4, learning_rate=0.02, progress=False)
    kept = history[history["best"]].iloc[0]
    assert len(history) == kept["epoch"] + 4 < 30                        # stopped by the patience
    assert kept["val_loss"] == history["val_loss"].min() < history["val_loss"].iloc[-1]
    val_texts = list(splits.val["text"])
    assert clf.cross_entropy(val_texts, splits.val["label"]) == pytest.approx(kept["val_loss"], abs=1e-5)
    assert np.mean(clf.predict(val_texts) == splits.val["label"]) == kept["val_accuracy"]
    # and score_model reads the same validation accuracy as the history recorded
    row = score_model("hybrid", "CNN-LSTM", clf, splits, clf.train_seconds)
    assert row["val accuracy"] == kept["val_accuracy"]
    assert not clf.net.training                                          # left in evaluation mode


def test_train_hybrid_on_ids_lowers_the_loss_without_a_loop_over_sentences():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 8)
    X = rng.integers(5, 20, (32, MAX_LEN))
    X[:, 3] = y + 1                                              # the class sits in one word: separable
    torch.manual_seed(0)
    net = CNNLSTMTorch(20, MAX_LEN, **SIZES, num_classes=4)
    history = train_hybrid(net, (X, y), (X[::2], y[::2]), epochs=30, patience=30, learning_rate=0.02,
                           batch_size=8, progress=False)
    assert history["train_loss"].iloc[-1] < 0.1 * history["train_loss"].iloc[0]
    assert history["val_accuracy"].max() == 1.0


def test_predict_proba_rows_sum_to_one_and_predict_names_the_classes():
    splits = toy_splits()
    clf = hybrid(splits)
    texts = list(splits.test["text"]) + ["a sentence of unknown words only"]
    proba = clf.predict_proba(texts)
    assert proba.shape == (len(texts), 4) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    pred = clf.predict(texts)
    assert pred.shape == (len(texts),) and set(pred) <= set(CLASSES)
    np.testing.assert_array_equal(pred, np.asarray(CLASSES, dtype=object)[proba.argmax(axis=1)])
    np.testing.assert_array_equal(clf.predict(splits.test["text"]), clf.predict(list(splits.test["text"])))


@pytest.mark.parametrize("bad,message", [([], "at least one"), (["the goal", 3], r"texts\[1\]"),
                                         ("the goal", "list of strings"), (None, "list of strings")])
def test_bad_texts_are_refused_clearly(bad, message):
    clf = hybrid(toy_splits())
    for method in (clf.predict_proba, clf.predict):
        with pytest.raises(ValueError, match=message):
            method(bad)


def test_bad_settings_are_refused_by_name():
    splits = toy_splits()
    vocab = word_vocab(splits.train["text"])
    with pytest.raises(ValueError, match="num_classes"):
        HybridClassifier(CNNLSTMTorch(len(vocab), MAX_LEN, **SIZES), WordEncoder(vocab, MAX_LEN))
    with pytest.raises(ValueError, match="max_len"):
        HybridClassifier(CNNLSTMTorch(len(vocab), MAX_LEN, **SIZES, num_classes=4), WordEncoder(vocab, 5))
    clf = hybrid(splits)
    for kwargs, name in [({"epochs": 0}, "epochs"), ({"patience": 0}, "patience"),
                         ({"batch_size": 1.5}, "batch_size"), ({"learning_rate": 0}, "learning_rate")]:
        with pytest.raises(ValueError, match=name):
            clf.fit(splits, progress=False, **kwargs)
    with pytest.raises(ValueError, match="splits"):
        clf.fit({"train": splits.train}, progress=False)


def test_training_is_reproducible_by_seed():
    splits = toy_splits()
    outputs = []
    for _ in range(2):
        clf = hybrid(splits, dropout=0.5)                      # dropout masks come from the seed too
        clf.fit(splits, epochs=5, learning_rate=0.02, seed=3, progress=False)
        outputs.append(clf.predict_proba(list(splits.test["text"])))
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_select_hybrid_chooses_on_validation_and_never_reads_the_test_split():
    splits = toy_splits()
    # A test split that cannot be encoded: any use of it would raise.
    unreadable = pd.DataFrame({"text": [None], "label": ["Sports"], "group": [99]})
    splits = Splits(splits.train, splits.val, unreadable)
    vocab = word_vocab(splits.train["text"])

    def build(kernel_size):
        return HybridClassifier(CNNLSTMTorch(len(vocab), MAX_LEN, **{**SIZES, "kernel_size": kernel_size},
                                             num_classes=4), WordEncoder(vocab, MAX_LEN))

    settings = [{"learning_rate": 1e-6, "kernel_size": 2}, {"learning_rate": 0.02, "kernel_size": 3}]
    found = select_hybrid(build, settings, splits, seed=0, epochs=25, patience=25, progress=False)
    assert found.setting == settings[1] and found.model.net.conv.kernel_size == (3,)
    assert list(found.grid["kernel_size"]) == [2, 3] and list(found.grid["learning_rate"]) == [1e-6, 0.02]
    assert found.grid.loc[1, "val accuracy"] > found.grid.loc[0, "val accuracy"]
    assert [len(h) for h in found.histories] == list(found.grid["epochs"])
    assert found.history is found.histories[1]
    assert np.mean(found.model.predict(list(splits.val["text"])) == splits.val["label"]) == \
        found.grid.loc[1, "val accuracy"]
    with pytest.raises(ValueError, match="settings"):
        select_hybrid(build, [], splits)


def test_the_hybrid_takes_its_place_in_the_comparison_table():
    splits = toy_splits()
    clf = hybrid(splits)
    clf.fit(splits, epochs=3, progress=False)
    table = comparison_table([score_model("CNN-LSTM hybrid", "CNN-LSTM", clf, splits, clf.train_seconds)])
    assert list(table["model"]) == ["CNN-LSTM hybrid"] and 0 <= table["test accuracy"].iloc[0] <= 1
