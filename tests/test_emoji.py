"""Lesson 08: data loading, the baseline, the Keras LSTM, saving and loading, and the command line.

The model tests use a tiny model: the real architecture trained for one epoch on 64 sentences
(session fixture, a few seconds). What they check does not depend on how well it predicts.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from course_utils.keras_setup import import_keras, seed_keras
from course_utils.lessons.emoji.baseline import SoftmaxRegression, fit_baseline, mean_embeddings
from course_utils.lessons.emoji.classifier import FORMAT, EmojiClassifier, ModelLoadError, metadata_path
from course_utils.lessons.emoji.cli import QUICK_TRAIN_SENTENCES, main
from course_utils.lessons.emoji.data import (
    EMOJIS,
    NAMES,
    TEST_SAME_WRITERS,
    class_counts,
    confusion_table,
    label_table,
    load_emoji_data,
    load_emoji_split,
    load_outside_data,
    mistakes_table,
    one_hot,
    parts_of_test,
)
from course_utils.lessons.emoji.model import (
    EMBEDDING_LAYER,
    LEARNING_RATE,
    STANDARDIZE,
    build_emoji_lstm,
    choose_max_len,
    embedding_weights,
    load_embeddings,
    predict_probabilities,
    selection_summary,
    train_lstm,
)
from course_utils.lessons.emoji.training import train_emoji_model

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="session")
def emb():
    return load_embeddings("minilm")


@pytest.fixture(scope="session")
def splits():
    return load_emoji_data()


@pytest.fixture(scope="session")
def trained(emb, splits):
    """(classifier, history, LSTM weights before training): the lesson's LSTM, 1 epoch on 64 sentences."""
    small = {"train": splits["train"].iloc[:64], "val": splits["val"].iloc[:32]}
    seed_keras(0)
    # same seed -> same initial weights
    before = build_emoji_lstm(emb).get_layer("lstm_1").get_weights()[0].copy()
    clf, history = train_emoji_model(emb=emb, splits=small, seed=0, epochs=1)
    return clf, history, before


@pytest.fixture(scope="session")
def saved(trained, tmp_path_factory):
    return trained[0].save(tmp_path_factory.mktemp("model") / "emoji.keras")


SENTENCES = ["I love you", "Let's play baseball", "I passed my exam!", "my dog died", "What's for dinner?"]


# ------------------------------------------------------------------------------------------------- data


def test_labels_are_the_five_classes_in_order():
    t = label_table()
    assert list(t["label"]) == [0, 1, 2, 3, 4]
    assert list(t["name"]) == ["love", "sports", "happy", "sad", "food"]
    assert list(t["emoji"]) == ["❤️", "⚾", "😄", "😞", "🍴"]


def test_load_emoji_data_gives_checked_splits(splits):
    assert set(splits) == {"train", "val", "test"}
    for df in splits.values():
        assert list(df.columns) == ["text", "label"]
        assert df["label"].dtype == np.int64 and df["label"].between(0, 4).all()
        assert df["text"].map(lambda t: isinstance(t, str) and t.strip() != "").all()
    counts = class_counts(splits)
    assert counts.loc["total", "total"] == sum(len(df) for df in splits.values())
    assert (counts.drop(index="total").drop(columns="total") > 0).all().all()


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("content, message", [
    ("sentence,label\nhi,0\n", "columns"),
    ("text,label\nhi,7\n", "line 2: label '7'"),
    ("text,label\nhi,0\nyo,one\n", "line 3: label 'one'"),
    ("text,label\nhi,0\n   ,1\n", "line 3: empty text"),
    ("text,label\n", "no rows"),
])
def test_load_emoji_split_rejects_bad_files(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        load_emoji_split(_write(tmp_path / "bad.csv", content))


def test_load_emoji_split_keeps_words_pandas_would_read_as_missing(tmp_path):
    df = load_emoji_split(_write(tmp_path / "ok.csv", "text,label\nNone,3\nNA,3\n"))
    assert list(df["text"]) == ["None", "NA"]


def test_load_emoji_data_rejects_missing_files_and_shared_sentences(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_emoji_data(tmp_path)
    for split, text in [("train", "I love you,0\n"), ("val", "Pizza,4\n"), ("test", "i LOVE  you,0\n")]:
        _write(tmp_path / f"{split}.csv", "text,label\n" + text)
    with pytest.raises(ValueError, match="in both train and test"):
        load_emoji_data(tmp_path)


def test_load_outside_data_refuses_a_sentence_of_another_split(tmp_path):
    for split, text in [("train", "I love you,0\n"), ("val", "Pizza,4\n"), ("test", "we won,1\n"),
                        ("outside_val", "gym now,1\n"), ("outside_test", "i LOVE  you,0\n")]:
        _write(tmp_path / f"{split}.csv", "text,label\n" + text)
    with pytest.raises(ValueError, match="in both train and outside_test"):
        load_outside_data(tmp_path)
    _write(tmp_path / "outside_test.csv", "text,label\na new one,2\n")
    assert list(load_outside_data(tmp_path)) == ["outside_val", "outside_test"]


def test_the_test_split_has_two_parts(splits):
    parts = parts_of_test(splits["test"])
    assert parts.shape == (len(splits["test"]),)
    assert list(parts[:TEST_SAME_WRITERS]) == ["same writers"] * TEST_SAME_WRITERS
    assert set(parts[TEST_SAME_WRITERS:]) == {"independent"}
    with pytest.raises(ValueError, match="whole test split in file order"):
        parts_of_test(splits["test"].iloc[1:])        # a slice: its rows are not the file's rows


def test_one_hot():
    assert one_hot(np.array([2, 0])).tolist() == [[0, 0, 1, 0, 0], [1, 0, 0, 0, 0]]
    with pytest.raises(ValueError):
        one_hot(np.array([5]))


# ------------------------------------------------------------------------------------------ embeddings


def test_load_embeddings_sources(tmp_path):
    glove = _write(tmp_path / "tiny.txt", "love 1 0\npizza 0 1\n")
    emb = load_embeddings(f"glove:{glove}")
    assert emb.matrix.shape == (4, 2)
    assert emb.encode(["love zzz pizza"], 5).tolist() == [[2, 1, 3, 0, 0]]   # unknown -> 1, padding -> 0
    with pytest.raises(ValueError, match="embedding source"):
        load_embeddings("word2vec")


def test_max_len_covers_every_training_sentence(emb, splits):
    texts = list(splits["train"]["text"])
    max_len = choose_max_len(emb, texts)
    assert max_len == emb.lengths(texts).max()
    X = emb.encode(texts, max_len)
    assert ((X != 0).sum(axis=1) == emb.lengths(texts)).all()   # nothing cut
    assert max_len > 10   # WordPiece splits words: longer than the 10-word limit of the data


def test_unknown_words_are_not_padding(emb, trained):
    clf = trained[0]
    X = clf.encode(["I love 🦜 so much"], max_len=8)
    assert X[0, :5].tolist() == emb.ids("I love 🦜 so much") and X[0, 2] == emb.unk_id != emb.pad_id
    assert (X[0, 5:] == emb.pad_id).all()
    mask = clf.model.get_layer(EMBEDDING_LAYER).compute_mask(X)
    assert np.asarray(mask).tolist() == [[True] * 5 + [False] * 3]  # the unknown word is read, padding is not
    assert np.abs(emb.matrix[emb.unk_id]).sum() > 0                  # and it has a vector of its own
    # the unknown word changes the input the LSTM sees (padding would not)
    assert not np.allclose(clf.predict_proba(["I love 🦜 so much"]), clf.predict_proba(["I love so much"]))


# ---------------------------------------------------------------------------------------------- baseline


def test_mean_embeddings_ignore_padding(emb):
    short, long = emb.encode(["I love pizza"], 4), emb.encode(["I love pizza"], 12)
    F = mean_embeddings(emb, short)
    np.testing.assert_allclose(F, mean_embeddings(emb, long), rtol=1e-6)
    np.testing.assert_allclose(F[0], emb.matrix[emb.ids("I love pizza")].mean(axis=0), rtol=1e-6)


def test_softmax_regression_learns_and_fit_baseline_chooses_on_validation():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 8)) * 3
    y = np.repeat(np.arange(5), 20)
    F = centres[y] + rng.normal(size=(100, 8))
    model = SoftmaxRegression(l2=1e-3).fit(F, y)
    p = model.predict_proba(F)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert np.mean(p.argmax(1) == y) > 0.95
    _, table = fit_baseline(F[::2], y[::2], F[1::2], y[1::2], l2_grid=(1e-3, 1e3))
    assert table["chosen"].sum() == 1
    chosen = table[table["chosen"]].iloc[0]
    assert chosen["l2"] == 1e-3 and chosen["val_accuracy"] == table["val_accuracy"].max()   # 1e3 underfits


# ---------------------------------------------------------------------------------------------- the LSTM


def test_the_lessons_architecture(trained):
    keras = import_keras()
    model = trained[0].model
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert [type(layer).__name__ for layer in layers] == ["Embedding", "LSTM", "Dropout",
                                                          "LSTM", "Dropout", "Dense"]
    emb_layer, lstm1, drop1, lstm2, drop2, dense = layers
    assert emb_layer.mask_zero and not emb_layer.trainable and emb_layer.trainable_weights == []
    assert ((lstm1.units, lstm1.return_sequences, lstm2.units, lstm2.return_sequences)
            == (128, True, 128, False))
    assert drop1.rate == drop2.rate == 0.5
    assert dense.units == 5
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert model.loss == "categorical_crossentropy"


def test_exactly_one_softmax_and_probabilities_sum_to_one(trained):
    keras = import_keras()
    model = trained[0].model
    softmaxes = [layer.name for layer in model.layers
                 if getattr(layer, "activation", None) is keras.activations.softmax
                 or isinstance(layer, keras.layers.Softmax)]
    assert softmaxes == [model.layers[-1].name]
    p = trained[0].predict_proba(SENTENCES)
    assert p.shape == (5, 5)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    # The loss receives probabilities (not logits): a second softmax inside the loss would be wrong.
    loss = keras.losses.get(model.loss)
    assert getattr(loss, "__name__", "") == "categorical_crossentropy"
    y = one_hot(np.array([0]))
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(keras.ops.mean(loss(y, p[:1])))),
                               -np.log(p[0, 0]), rtol=1e-4)


def test_the_embedding_stays_frozen_while_the_lstm_learns(trained, emb):
    clf, history, lstm_before = trained
    assert clf.embeddings.is_standardized == STANDARDIZE
    table = emb.standardized().matrix if STANDARDIZE else emb.matrix
    np.testing.assert_array_equal(embedding_weights(clf.model), table)          # unchanged by fit
    assert not np.allclose(clf.model.get_layer("lstm_1").get_weights()[0], lstm_before)  # these did train
    assert len(history) == 1 and history["best"].sum() == 1
    assert {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
            "seconds"} <= set(history.columns)


def test_padding_does_not_change_the_prediction(trained):
    clf = trained[0]
    p12, p20 = clf.predict_proba(SENTENCES, max_len=12), clf.predict_proba(SENTENCES, max_len=20)
    np.testing.assert_allclose(p12, p20, atol=1e-6)
    assert not np.allclose(p12[0], p12[1])   # while different words do change it


def test_initial_loss_is_about_ln5(emb, splits):
    seed_keras(0)
    model = build_emoji_lstm(emb)
    X = emb.encode(list(splits["val"]["text"][:64]), 16)
    loss = model.evaluate(X, one_hot(splits["val"]["label"].to_numpy()[:64]), verbose=0)[0]
    assert abs(loss - np.log(5)) < 0.1


def test_early_stopping_restores_the_best_epoch(emb, splits):
    """Three epochs with patience 1 on nonsense labels: the kept weights are those of the best val loss."""
    tr, va = splits["train"].iloc[:48], splits["val"].iloc[:48]
    X_tr, X_va = emb.encode(list(tr["text"]), 12), emb.encode(list(va["text"]), 12)
    seed_keras(1)
    model = build_emoji_lstm(emb, learning_rate=0.05)   # big steps: the val loss moves a lot
    history = train_lstm(model, X_tr, tr["label"].to_numpy(), X_va, va["label"].to_numpy()[::-1].copy(),
                           epochs=3, patience=1)
    best = history[history["best"]].iloc[0]
    assert best["val_loss"] == history["val_loss"].min()
    kept = model.evaluate(X_va, one_hot(va["label"].to_numpy()[::-1].copy()), verbose=0)[0]
    assert kept == pytest.approx(best["val_loss"], rel=1e-4)


def test_a_seed_given_to_train_lstm_makes_training_independent_of_what_ran_before(emb, splits):
    """With a seed, random numbers drawn between building and fitting (and predictions) change nothing."""
    tr, va = splits["train"].iloc[:64], splits["val"].iloc[:32]
    X_tr, X_va = emb.encode(list(tr["text"]), 12), emb.encode(list(va["text"]), 12)
    y_tr, y_va = tr["label"].to_numpy(), va["label"].to_numpy()

    def trained_weights(draw_first: bool, seed):
        import torch

        seed_keras(3)
        model = build_emoji_lstm(emb)
        if draw_first:                    # what the notebook does between building and fitting, and more
            model.predict_on_batch(X_tr)
            torch.rand(3)
        train_lstm(model, X_tr, y_tr, X_va, y_va, epochs=1, patience=1, seed=seed)
        return model.get_layer("lstm_1").get_weights()[0]

    np.testing.assert_array_equal(trained_weights(True, seed=3), trained_weights(False, seed=3))
    assert not np.array_equal(trained_weights(True, seed=None), trained_weights(False, seed=None))


def assert_same_run(run, reference, what):
    """Two training runs ``(weights, history)`` end bit for bit the same: every weight and logged number."""
    (weights, history), (weights_ref, history_ref) = run, reference
    assert len(weights) == len(weights_ref)
    for i, (w, w_ref) in enumerate(zip(weights, weights_ref)):
        assert np.array_equal(w, w_ref), (
            f"{what}: weight array {i} {w.shape} differs, by up to {np.abs(w - w_ref).max():.3g}")
    pd.testing.assert_frame_equal(history.drop(columns="seconds"), history_ref.drop(columns="seconds"),
                                  check_exact=True, obj=f"{what}: the history")


@pytest.fixture(scope="module")
def small_run(emb, splits):
    """How a short training run is made here: 64 sentences, 2 epochs, seed 0, caller on ``threads``."""
    import torch

    small = {"train": splits["train"].iloc[:64], "val": splits["val"].iloc[:32]}

    def run(threads: int = 1):
        torch.set_num_threads(threads)
        try:
            clf, history = train_emoji_model(emb=emb, splits=small, seed=0, epochs=2)
            assert torch.get_num_threads() == threads      # the caller's setting is back after training
        finally:
            torch.set_num_threads(1)
        return clf.model.get_weights(), history

    return run, small


@pytest.fixture(scope="module")
def reference_run(small_run):
    return small_run[0](threads=1)


def test_training_twice_gives_the_same_weights_bit_for_bit(small_run, reference_run):
    assert_same_run(small_run[0](threads=1), reference_run, "the second run")


def test_training_gives_the_same_weights_whatever_the_number_of_threads(small_run, reference_run):
    """On two threads the QR decomposition behind the orthogonal recurrent weights rounds differently;
    build_emoji_lstm and train_lstm run on THREADS threads whatever the caller set, so $COURSE_THREADS
    cannot change the model (without that, this fails)."""
    assert_same_run(small_run[0](threads=2), reference_run, "the run called with 2 threads")


def test_the_notebooks_steps_train_the_model_train_emoji_model_trains(emb, small_run, reference_run):
    """Lesson 08 builds and trains seed 0 step by step; the command line calls train_emoji_model.
    Same seed, same data: the same model, bit for bit."""
    small = small_run[1]
    max_len = choose_max_len(emb, small["train"]["text"])
    X_train, X_val = (emb.encode(list(small[s]["text"]), max_len) for s in ("train", "val"))
    seed_keras(0)
    model = build_emoji_lstm(emb.standardized() if STANDARDIZE else emb, learning_rate=LEARNING_RATE)
    predict_probabilities(model, X_train)       # the notebook's sanity check of the initial loss
    history = train_lstm(model, X_train, small["train"]["label"].to_numpy(), X_val,
                         small["val"]["label"].to_numpy(), epochs=2, batch_size=32, patience=10, seed=0)
    assert_same_run((model.get_weights(), history), reference_run, "the notebook's steps")


# ------------------------------------------------------------------------------------ predict, save, load


def test_predict_returns_one_complete_answer_per_text_in_order(trained):
    out = trained[0].predict(SENTENCES)
    assert [r["text"] for r in out] == SENTENCES
    for r in out:
        assert set(r) == {"text", "label", "emoji", "emoji_meaning", "confidence", "all_predictions"}
        assert list(r["all_predictions"]) == list(EMOJIS)
        assert r["emoji"] == EMOJIS[r["label"]] and r["emoji_meaning"] == NAMES[r["label"]]
        assert r["confidence"] == max(r["all_predictions"].values())
        assert sum(r["all_predictions"].values()) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="empty"):
        trained[0].predict(["fine", "   "])


@pytest.mark.parametrize("blank", ["", "   ", "\u200b", "\u200c\u200d", "\u2060\ufeff \t", "\x00\x07\x1b",
                                   "\u200b" * 500])
def test_a_text_without_a_token_is_refused_by_name(trained, blank):
    """Only whitespace, zero-width or control characters: nothing to classify (the model would answer the
    padding with a confident guess). encode, predict_proba and predict say which text and what is wanted."""
    clf = trained[0]
    assert clf.embeddings.ids(blank) == []
    for method in (clf.encode, clf.predict_proba, clf.predict):
        with pytest.raises(ValueError) as info:
            method(["I love you", blank, "also fine"])
        message = str(info.value)
        assert message.startswith(f"texts[1] {repr(blank)[:37]}") and "expected at least one word" in message
        assert len(message) < 200     # a short quote of the text, however long it is
    # a word among zero-width characters is a word
    assert clf.encode(["\u200bpizza\u2060"]).tolist() == clf.encode(["pizza"]).tolist()


def test_save_and_load_give_the_same_predictions(trained, saved):
    clf = trained[0]
    meta = json.loads(metadata_path(saved).read_text(encoding="utf-8"))
    assert meta["format"] == FORMAT and meta["embeddings"] == "minilm" and meta["max_len"] == clf.max_len
    assert [d["emoji"] for d in meta["labels"]] == list(EMOJIS)
    assert meta["standardized"] is clf.embeddings.is_standardized
    assert meta["weights_sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    loaded = EmojiClassifier.load(saved)
    assert loaded.max_len == clf.max_len and loaded.info == clf.info
    assert loaded.embeddings.is_standardized == clf.embeddings.is_standardized
    np.testing.assert_array_equal(loaded.embeddings.matrix, clf.embeddings.matrix)
    np.testing.assert_allclose(loaded.predict_proba(SENTENCES), clf.predict_proba(SENTENCES), atol=1e-6)


def test_load_errors_are_clear(saved, tmp_path):
    with pytest.raises(ModelLoadError, match="no emoji model.*train"):
        EmojiClassifier.load(tmp_path / "missing.keras")
    copy = tmp_path / "copy.keras"
    copy.write_bytes(saved.read_bytes())
    with pytest.raises(ModelLoadError, match="no metadata file"):
        EmojiClassifier.load(copy)
    meta = metadata_path(saved).read_text(encoding="utf-8")
    metadata_path(copy).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="not readable JSON"):
        EmojiClassifier.load(copy)
    metadata_path(copy).write_text(meta.replace('"sad"', '"angry"'), encoding="utf-8")
    with pytest.raises(ModelLoadError, match="labels"):
        EmojiClassifier.load(copy)
    metadata_path(copy).write_text(meta, encoding="utf-8")
    copy.write_bytes(b"definitely not a zip file")
    with pytest.raises(ModelLoadError, match="not a Keras model file"):
        EmojiClassifier.load(copy)
    copy.write_bytes(saved.read_bytes()[: len(saved.read_bytes()) // 2])   # a truncated download
    with pytest.raises(ModelLoadError):
        EmojiClassifier.load(copy)


@pytest.mark.parametrize("standardized", [False, True])
def test_a_model_reloads_with_the_table_it_was_saved_with(emb, trained, tmp_path, standardized):
    """The metadata says which table the model reads (raw or standardised); loading rebuilds that one."""
    table = emb.standardized() if standardized else emb
    seed_keras(0)
    clf = EmojiClassifier(build_emoji_lstm(table), table, trained[0].max_len)     # untrained is enough here
    loaded = EmojiClassifier.load(clf.save(tmp_path / "model.keras"))
    assert loaded.embeddings.is_standardized is standardized
    np.testing.assert_array_equal(loaded.embeddings.matrix, table.matrix)
    np.testing.assert_array_equal(embedding_weights(loaded.model), table.matrix)
    np.testing.assert_allclose(loaded.predict_proba(SENTENCES), clf.predict_proba(SENTENCES), atol=1e-6)


def test_train_emoji_model_refuses_a_standardised_table_with_standardize_false(emb, splits):
    with pytest.raises(ValueError, match="already standardised"):
        train_emoji_model(emb=emb.standardized(), standardize=False, splits=splits, epochs=1)


def test_save_wants_a_keras_file_name(trained, tmp_path):
    with pytest.raises(ValueError, match=".keras"):
        trained[0].save(tmp_path / "model.h5")


def test_confusion_and_mistakes_tables():
    y_true, probs = np.array([0, 1, 1, 4]), np.eye(5)[[0, 1, 3, 2]] * 0.9 + 0.02
    conf = confusion_table(y_true, probs.argmax(1))
    assert (conf.to_numpy().sum() == 4 and conf.iloc[1, 1] == 1 and conf.iloc[1, 3] == 1
            and conf.iloc[4, 2] == 1)
    mistakes = mistakes_table(["a", "b", "c", "d"], y_true, probs)
    assert list(mistakes["text"]) == ["c", "d"] and mistakes["predicted"][0] == "😞 sad"


# ------------------------------------------------------------------------------------------- command line


def test_cli_predict_prints_one_line_per_sentence(saved, trained, capsys):
    assert main(["predict", "--model", str(saved), "I love you", "Let's eat"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = trained[0].predict(["I love you", "Let's eat"])
    assert len(lines) == 2
    for line, r in zip(lines, expected):
        emoji, name, confidence, text = line.split("\t")
        assert (emoji, name, text) == (r["emoji"], r["emoji_meaning"], r["text"])
        assert float(confidence) == pytest.approx(r["confidence"], abs=1e-3)


@pytest.mark.parametrize("command", ["predict", "serve"])
def test_cli_missing_model_exits_with_status_2(tmp_path, command):
    args = [sys.executable, "-m", "course_utils.lessons.emoji", command,
            "--model", str(tmp_path / "nope.keras")]
    if command == "predict":
        args.append("hello")
    done = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 2
    assert "no emoji model" in done.stderr and "nope.keras" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("threads", ["1", "2"])
def test_cli_applies_the_thread_policy(tmp_path, monkeypatch, threads):
    """Every command sets PyTorch's threads from $COURSE_THREADS before it loads or trains anything."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    monkeypatch.setenv("COURSE_THREADS", threads)
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    try:
        with threadpool_limits(None, user_api="blas"):   # BLAS gets its limits back on exit
            with pytest.raises(SystemExit):
                main(["predict", "--model", str(tmp_path / "nope.keras"), "hello"])
            assert torch.get_num_threads() == int(threads)
    finally:
        torch.set_num_threads(before)


def test_cli_unreadable_model_exits_with_status_2(saved, tmp_path, capsys):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"garbage")
    metadata_path(bad).write_text(metadata_path(saved).read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--model", str(bad)])
    assert exit_info.value.code == 2
    assert "not a Keras model file" in capsys.readouterr().err


def test_cli_train_saves_a_model_that_predicts(splits, tmp_path, capsys, monkeypatch):
    """Full mode (the default): every training sentence (quick mode: tests/test_emoji_cli.py). The data are
    cut to 200 training sentences, more than quick mode's 128, so the test shows that none was left out."""
    import course_utils.lessons.emoji.training as training

    assert QUICK_TRAIN_SENTENCES < 200
    small = {"train": splits["train"].iloc[:200], "val": splits["val"].iloc[:100], "test": splits["test"]}
    monkeypatch.setattr(training, "load_emoji_data", lambda: small)
    monkeypatch.setenv("COURSE_PROGRESS", "text")
    monkeypatch.setenv("COURSE_MODE", "full")
    out = tmp_path / "m" / "emoji.keras"
    assert main(["train", "--out", str(out), "--epochs", "1"]) == 0
    assert out.is_file() and metadata_path(out).is_file()
    assert "validation accuracy" in capsys.readouterr().out
    clf = EmojiClassifier.load(out)
    assert clf.info["epochs_run"] == 1 and clf.info["mode"] == "full" and clf.info["train_sentences"] == 200
    assert clf.sentence_head is not None and "val_accuracy_combined" in clf.info


def test_selection_summary_applies_the_rule():
    """Highest mean validation accuracy wins; within the tie margin the lower validation loss decides."""
    runs = pd.DataFrame({"table": ["raw"] * 2 + ["standardised"] * 2 + ["other"] * 2,
                         "learning_rate": [1e-3] * 6, "seed": [0, 1] * 3,
                         "val_accuracy": [0.90, 0.90, 0.899, 0.901, 0.80, 0.99],
                         "val_loss": [0.40, 0.40, 0.30, 0.30, 0.20, 0.20]})
    summary = selection_summary(runs, tie=0.002)
    assert list(summary["table"]) == ["raw", "standardised", "other"]
    # means 0.900 (loss 0.40), 0.900 (0.30), 0.895 (0.20): the third has the lowest loss but is out of the tie
    assert list(summary["chosen"]) == [False, True, False]
    assert summary.loc[1, "min_val_accuracy"] == 0.899 and summary.loc[1, "max_val_accuracy"] == 0.901
    assert list(summary["seeds"]) == [2, 2, 2]
    runs.loc[[0, 1], "val_accuracy"] = 0.901     # raw: mean 0.901 (loss 0.40), standardised 0.900 (0.30)
    assert list(selection_summary(runs, tie=0.0)["chosen"]) == [True, False, False]     # accuracy alone
    assert list(selection_summary(runs, tie=0.002)["chosen"]) == [False, True, False]   # tie: loss decides


def test_the_course_uses_the_setting_the_selection_log_chose():
    """figures/08_emoji_lstm/selection.csv (tools/emoji_selection.py) and the defaults must agree."""
    runs = pd.read_csv(REPO / "figures" / "08_emoji_lstm" / "selection.csv")
    assert set(runs.columns) >= {"table", "learning_rate", "seed", "val_accuracy", "val_loss"}
    seeds = runs.groupby(["table", "learning_rate"])["seed"].apply(sorted)
    assert all(s == [0, 1, 2] for s in seeds)
    settings = runs.groupby(["table", "learning_rate"]).ngroups
    assert set(runs["table"]) == {"raw", "standardised"} and len(runs) == 3 * settings
    chosen = selection_summary(runs).query("chosen").iloc[0]
    assert (chosen["table"] == "standardised", chosen["learning_rate"]) == (STANDARDIZE, LEARNING_RATE)


@pytest.mark.parametrize("name", ["glove:/etc/passwd", "glove.6B.7d", "bert", "glove:.txt"])
def test_load_embeddings_refuses_a_table_it_does_not_know_without_opening_it(name):
    with pytest.raises(ValueError, match="embedding source: expected"):
        load_embeddings(name)
