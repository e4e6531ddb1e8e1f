"""Lesson 09 helpers: data checks, the group split, train-only features, Keras models, evaluation tables."""

import math

import numpy as np
import pandas as pd
import pytest

from course_utils.lessons.text_classification.classical import (
    MajorityClass,
    make_vectorizer,
    select_on_validation,
    top_words,
)
from course_utils.lessons.text_classification.data import (
    CLASSES,
    Splits,
    encode_labels,
    load_news,
    split_by_group,
    validate_news,
)
from course_utils.lessons.text_classification.evaluation import (
    RESULT_COLUMNS,
    comparison_table,
    error_analysis,
)
from course_utils.lessons.text_classification.sequence import WordEncoder, word_vocab
from course_utils.metrics import compare_paired

# A made-up corpus: every class has its own words, so a linear model learns them from a few sentences.
WORDS = {
    "Education": ["school", "pupils", "teacher", "exam", "university"],
    "Finance": ["shares", "bank", "profit", "market", "inflation"],
    "Politics": ["minister", "election", "parliament", "vote", "party"],
    "Sports": ["goal", "match", "striker", "league", "coach"],
}


def tiny_frame(n_per_class: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows, group = [], 1
    for label, words in WORDS.items():
        for _ in range(n_per_class):
            picked = rng.choice(words, size=3, replace=False)
            rows.append({"text": f"The {picked[0]} and the {picked[1]} near the {picked[2]}.", "label": label,
                         "group": group})
            group += 1
    return pd.DataFrame(rows)


def tiny_splits() -> Splits:
    """Train 6, validation 2, test 2 sentences per class; 'zeppelin' appears in the test split only."""
    df = tiny_frame(10)
    parts = {name: (df[df.index % 10 < 6] if name == "train"
                    else df[df.index % 10 // 2 == (3 if name == "val" else 4)])
             for name in ("train", "val", "test")}
    test = parts["test"].copy()
    test.iloc[0, 0] = "The zeppelin and the " + test.iloc[0, 0][4:]
    return Splits(parts["train"], parts["val"], test)


# ----------------------------------------------------------------------------------------------- data

def test_load_news_reads_the_course_file():
    df = load_news()
    assert list(df.columns) == ["text", "label", "group"]
    assert len(df) >= 800 and set(df["label"]) == set(CLASSES)
    assert df["group"].dtype == np.int64 and list(df.index) == list(range(len(df)))


@pytest.mark.parametrize("change, message", [
    (lambda d: d.drop(columns="group"), "missing column"),
    (lambda d: d.rename(columns={"text": "sentence"}), "missing column"),
    (lambda d: d.assign(label=d["label"].replace("Sports", "Weather")), "unknown label"),
    (lambda d: d.assign(text=d["text"].where(d.index != 3, "")), "empty text in row"),
    (lambda d: d.assign(text=d["text"].where(d.index != 5, "   ")), "empty text in row"),
    (lambda d: d.assign(text=d["text"].where(d.index != 2, None)), "must be strings"),
    (lambda d: d.assign(group=d["group"].astype(object).where(d.index != 1, "x")),
     "group ids must be integers"),
    (lambda d: d.assign(group=1), "more than one label"),
    (lambda d: d.iloc[:0], "no rows"),
])
def test_validate_news_rejects_bad_tables(change, message):
    with pytest.raises(ValueError, match=message):
        validate_news(change(tiny_frame()))


def test_validate_news_accepts_a_good_table_and_strips_text():
    df = tiny_frame().set_index(pd.Index(range(100, 124)))
    df.loc[100, "text"] = "  The school and the exam.  "
    out = validate_news(df)
    assert list(out.index) == list(range(24)) and out.loc[0, "text"] == "The school and the exam."


def test_encode_labels():
    np.testing.assert_array_equal(encode_labels(["Sports", "Education", "Politics"]), [3, 0, 2])
    with pytest.raises(ValueError, match="unknown label"):
        encode_labels(["Sports", "Weather"])


# ---------------------------------------------------------------------------------------------- split

def test_split_has_no_group_in_two_splits_and_covers_every_row():
    df = load_news()
    splits = split_by_group(df, seed=0)
    groups = [set(part["group"]) for _, part in splits.items()]
    assert not groups[0] & groups[1] and not groups[0] & groups[2] and not groups[1] & groups[2]
    indices = np.concatenate([part.index for _, part in splits.items()])
    assert sorted(indices) == list(range(len(df)))          # every row once, the index is the file's row
    counts = splits.counts()
    # stratified
    assert counts.loc[list(CLASSES), "test"].min() >= 0.8 * counts.loc[list(CLASSES), "test"].max()
    assert 550 <= len(splits.train) <= 660 and 120 <= len(splits.val) and 150 <= len(splits.test)


def test_split_is_reproducible_by_seed():
    df = load_news()
    a, b, c = split_by_group(df, seed=3), split_by_group(df, seed=3), split_by_group(df, seed=4)
    for (_, x), (_, y) in zip(a.items(), b.items()):
        assert list(x.index) == list(y.index)
    assert list(a.test.index) != list(c.test.index)


def test_split_keeps_a_multi_sentence_group_together():
    df = tiny_frame(10)
    df.loc[[0, 1, 2], "group"] = 999                         # three Education sentences: one idea
    splits = split_by_group(df, seed=0)
    where = [name for name, part in splits.items() if 999 in set(part["group"])]
    assert len(where) == 1 and (splits.__dict__[where[0]]["group"] == 999).sum() == 3


# --------------------------------------------------------------------------------- train-only features

@pytest.mark.parametrize("features", ["bow", "tfidf"])
def test_vectorizer_is_fitted_on_the_training_split_only(features):
    splits = tiny_splits()
    assert "zeppelin" in splits.test.iloc[0, 0].lower()
    assert not any("zeppelin" in t.lower() for t in pd.concat([splits.train, splits.val])["text"])
    found = select_on_validation(features, "logistic regression", splits, small=True)
    vocabulary = found.model.named_steps["features"].vocabulary_
    assert "zeppelin" not in vocabulary and "school" in vocabulary
    assert set(vocabulary) <= {w for t in splits.train["text"] for w in t.lower().strip(".").split()}
    assert len(found.grid) == 2 and found.params in [{"C": 10.0, "ngram_range": (1, 1)},
                                                     {"C": 100.0, "ngram_range": (1, 1)}]
    assert (found.model.predict(list(splits.test["text"])) == splits.test["label"].to_numpy()).mean() >= 0.75


def test_word_vocab_is_built_on_train_with_pad_and_unk():
    splits = tiny_splits()
    vocab = word_vocab(splits.train["text"], max_words=12)
    assert vocab["<PAD>"] == 0 and vocab["<UNK>"] == 1 and len(vocab) == 12
    assert sorted(vocab.values()) == list(range(12)) and "zeppelin" not in vocab
    ids = WordEncoder(vocab, max_len=12).encode(["The zeppelin school"])
    np.testing.assert_array_equal(ids[0, :3], [vocab["the"], 1, vocab.get("school", 1)])
    assert (ids[0, 3:] == 0).all()


def test_make_vectorizer_and_selection_reject_unknown_names():
    with pytest.raises(ValueError, match="'bow' or 'tfidf'"):
        make_vectorizer("word2vec")
    with pytest.raises(ValueError, match="expected one of"):
        select_on_validation("tfidf", "naive Bayes", tiny_splits())


def test_majority_class_predicts_the_most_frequent_training_label():
    model = MajorityClass().fit(["a", "b", "c"], ["Sports", "Finance", "Sports"])
    assert list(model.predict(["x", "y"])) == ["Sports", "Sports"]


# ------------------------------------------------------------------------------------- error analysis

def test_error_analysis_rows_point_to_the_right_sentences():
    texts = pd.Series(["s10", "s20", "s30", "s40"], index=[10, 20, 30, 40])
    # y_true is a Series with a *different* index: the rows must still be matched by position
    y_true = pd.Series(["Sports", "Finance", "Politics", "Education"], index=[3, 2, 1, 0])
    y_pred = np.array(["Sports", "Politics", "Politics", "Finance"], dtype=object)
    wrong = error_analysis(texts, y_true, y_pred)
    assert list(wrong.index) == [20, 40]
    assert wrong.loc[20].tolist() == ["s20", "Finance", "Politics"]
    assert wrong.loc[40].tolist() == ["s40", "Education", "Finance"]

    proba = np.array([[0.1, 0.1, 0.1, 0.7], [0.1, 0.2, 0.6, 0.1], [0.1, 0.1, 0.7, 0.1], [0.1, 0.9, 0.0, 0.0]])
    wrong = error_analysis(texts, y_true, y_pred, proba=proba)
    assert list(wrong.index) == [40, 20]                     # the most confident mistake first
    np.testing.assert_allclose(wrong["confidence"], [0.9, 0.6])


def test_error_analysis_numbers_plain_lists_and_checks_lengths():
    wrong = error_analysis(["a", "b"], ["Sports", "Sports"], ["Sports", "Finance"])
    assert list(wrong.index) == [1] and wrong.iloc[0]["text"] == "b"
    with pytest.raises(ValueError, match="same length"):
        error_analysis(["a", "b"], ["Sports"], ["Sports", "Finance"])
    with pytest.raises(ValueError, match="proba"):
        error_analysis(["a", "b"], ["Sports", "Sports"], ["Sports", "Finance"], proba=np.ones((2, 3)) / 3)


# ------------------------------------------------------------------------------------ tables and words

def row(name, val_acc, val_f1, train_s, test_acc=0.5):
    return {"model": name, "family": "classical", "val accuracy": val_acc, "val macro-F1": val_f1,
            "test accuracy": test_acc, "test macro-F1": test_acc, "train s": train_s, "predict s": 0.01,
            "test_pred": None}


def test_results_table_is_sorted_and_has_the_columns():
    table = comparison_table([row("c", 0.80, 0.80, 1.0, test_acc=0.99), row("a", 0.90, 0.89, 5.0),
                           row("b", 0.90, 0.90, 9.0), row("d", 0.90, 0.89, 2.0)])
    assert list(table.columns) == RESULT_COLUMNS
    assert list(table["model"]) == ["b", "d", "a", "c"]       # val accuracy, then val macro-F1, then faster
    assert list(table.index) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="lack"):
        comparison_table([{"model": "x", "val accuracy": 1.0}])


def test_top_words_finds_each_class_words():
    splits = tiny_splits()
    found = select_on_validation("tfidf", "linear SVM", splits, small=True)
    words = top_words(found.model, k=5)
    assert list(words.columns) == ["class", "rank", "word", "weight"] and len(words) == 20
    for label, vocab in WORDS.items():
        mine = words[words["class"] == label]
        assert mine["weight"].is_monotonic_decreasing
        assert mine.iloc[0]["word"] in vocab                   # the strongest word is one of the class's own


def test_compare_paired_counts_and_p_value():
    y = ["A"] * 10
    a = ["A"] * 10
    b = ["A"] * 2 + ["B"] * 8
    out = compare_paired(y, a, b)
    assert (out["a_only"], out["b_only"], out["both_right"], out["both_wrong"]) == (8, 0, 2, 0)
    assert out["p_value"] == pytest.approx(2 * 0.5 ** 8)
    assert compare_paired(y, a, a)["p_value"] == 1.0


# --------------------------------------------------------------------------------------------- Keras

def test_keras_lstms_train_and_the_frozen_embedding_stays_frozen(one_torch_thread):
    from course_utils.embeddings import GloveEmbeddings, keras_embedding
    from course_utils.keras_setup import import_keras, seed_keras
    from course_utils.lessons.text_classification.sequence import (
        PieceEncoder,
        TextSequenceClassifier,
        build_text_lstm,
    )

    keras = import_keras()
    splits = tiny_splits()
    words = sorted({w for ws in WORDS.values() for w in ws} | {"the", "and", "near"})
    rng = np.random.default_rng(0)
    table = GloveEmbeddings("tiny", rng.normal(size=(len(words) + 2, 8)).astype(np.float32),
                            {"<PAD>": 0, "<UNK>": 1, **{w: i + 2 for i, w in enumerate(words)}}, unk_id=1)

    seed_keras(0)
    frozen = TextSequenceClassifier(build_text_lstm(embedding=keras_embedding(table), units=8),
                                    PieceEncoder(table, 10))
    assert abs(frozen.cross_entropy(splits.train["text"], splits.train["label"]) - math.log(4)) < 0.1
    lstm_before = [keras.ops.convert_to_numpy(w).copy() for w in frozen.model.get_layer("lstm").weights]
    history = frozen.fit(splits, epochs=2, batch_size=8, patience=5, learning_rate=0.05)
    assert (list(history["epoch"]) == [1, 2]
            and {"train_loss", "val_loss", "val_accuracy", "seconds", "best"} <= set(history))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(frozen.model.layers[0].embeddings), table.matrix)
    lstm_after = [keras.ops.convert_to_numpy(w) for w in frozen.model.get_layer("lstm").weights]
    assert any(not np.allclose(b, a) for b, a in zip(lstm_before, lstm_after))      # the LSTM did learn
    assert frozen.train_seconds > 0
    proba = frozen.predict_proba(list(splits.test["text"]))
    assert proba.shape == (len(splits.test), 4) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert set(frozen.predict(list(splits.test["text"]))) <= set(CLASSES)

    seed_keras(0)
    vocab = word_vocab(splits.train["text"])
    trainable = TextSequenceClassifier(build_text_lstm(len(vocab), embed_dim=6, units=8),
                                       WordEncoder(vocab, 10))
    emb_before = keras.ops.convert_to_numpy(trainable.model.layers[0].embeddings).copy()
    trainable.fit(splits, epochs=2, batch_size=8, learning_rate=0.05)
    assert not np.allclose(keras.ops.convert_to_numpy(trainable.model.layers[0].embeddings), emb_before)


def test_keras_training_is_reproducible_by_seed(one_torch_thread):
    from course_utils.keras_setup import seed_keras
    from course_utils.lessons.text_classification.sequence import TextSequenceClassifier, build_text_lstm

    splits = tiny_splits()
    vocab = word_vocab(splits.train["text"])
    outputs = []
    for disturb in (1, 2):
        seed_keras(0)                                          # the same initial weights
        clf = TextSequenceClassifier(build_text_lstm(len(vocab), embed_dim=4, units=4),
                                     WordEncoder(vocab, 10))
        np.random.default_rng(disturb).random(disturb)         # other draws in between must not matter:
        seed_keras(disturb)                                    # fit(seed=0) reseeds the batch order itself
        clf.fit(splits, epochs=2, batch_size=4, learning_rate=0.05, seed=0)
        outputs.append(clf.predict_proba(list(splits.test["text"])))
    np.testing.assert_array_equal(outputs[0], outputs[1])
