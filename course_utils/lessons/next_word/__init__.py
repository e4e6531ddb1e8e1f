"""Next-word prediction for lessons 04 and 05 (and the weights lesson 06 loads).

==================  ==============================================================================
module              what is in it
==================  ==============================================================================
``corpus``          the medical sentences, the split by sentence, (context, next word) examples
``models``          the CNN and the CNN + LSTM in NumPy, and their weight file
``ngrams``          the counting baselines: unigram, bigram, Kneser-Ney, and choose_ngram
``training``        the training functions
``evaluation``      the metrics of every model on the same targets, and ``predict_next``
``torch_hybrid``    lesson 06: the hybrid as a ``torch.nn.Module`` (imports torch)
==================  ==============================================================================

The pipeline::

    vocab, data = next_word_data(seq_len=6)                  # split by sentence, vocabulary with min_freq=2
    model = CNNNextWord(len(vocab), seq_len=6)               # Embedding -> Conv1D -> ReLU -> pool -> Dense
    history = train_cnn(model, data["train"], data["val"], epochs=30, patience=3)
    hybrid = CNNLSTMNextWord(len(vocab), seq_len=6)          # Embedding -> Conv1D -> ReLU -> LSTM -> Dense
    history = train_cnn_lstm(hybrid, data["train"], data["val"], epochs=60, patience=4)

    bigram = BigramModel(len(vocab), weight=0.5).fit(*data["train"])   # a baseline, from the training split
    X_test, Y_test = data["test"]                            # used once, at the end
    next_word_metrics(hybrid.predict_proba(X_test), Y_test)  # top1, top5, perplexity (all and known targets)
    save_model(hybrid, "data/models/05_cnn_lstm_weights.npz", vocab, info={...})

Every model here follows the protocol of :func:`.evaluation.predict_next`: a ``seq_len``
attribute and ``predict_proba(X (N, seq_len) int) -> (N, V)`` probabilities. The neural models'
``forward`` returns *logits*; the one softmax is applied in ``predict_proba`` (and, for training,
inside ``softmax_cross_entropy``, which takes logits), never twice.

``<UNK>`` targets. The vocabulary is built on the training split with ``min_freq=2``: words seen
once in training become ``<UNK>`` there too, so ``<UNK>`` is an ordinary class that every model
learns to predict ("some rare word"), and every validation and test target, ``<UNK>`` or not, has
a finite probability under every model. :func:`next_word_metrics` reports each metric twice, over
all targets and over the targets that are real words (``known_*``: ``<UNK>`` targets left out, the
same probabilities). Models and baselines are scored by the same function on the same targets.

The weight file (:func:`save_model`, :func:`load_model`), an ``np.savez`` archive:

==================  ==================  ==================================================
key                 shape, dtype        what
==================  ==================  ==================================================
``embedding.W``     ``(V, E)`` float32  one row per word id; ``<PAD>`` = 0 has a learned row (no
                                        ``padding_idx``: a PyTorch ``nn.Embedding`` must not set one)
``conv.W``          ``(k, E, F)``       Conv1D kernel, channels last (PyTorch: ``(F, E, k)``)
``conv.b``          ``(F,)``
``lstm.W_x``        ``(F, 4H)``         gates stacked i, f, g, o (PyTorch: ``weight_ih_l0.T``)
``lstm.W_h``        ``(H, 4H)``         (PyTorch: ``weight_hh_l0.T``)
``lstm.b``          ``(4H,)``           PyTorch: ``bias_ih_l0 + bias_hh_l0``
``dense.W``         ``(H, V)``          (PyTorch ``nn.Linear.weight``: ``(V, H)``); ``(F, V)`` for the CNN
``dense.b``         ``(V,)``
``vocab``           ``(V,)`` str        ``vocab[i]`` is the word of id ``i`` (``<PAD>``, ``<UNK>``, ...)
``config``          ``()`` str          JSON: ``architecture``, ``vocab_size``, ``seq_len``, ``embed_dim``,
                                        ``filters``, ``kernel_size``, ``hidden_size``, ``head``, ``dropout``,
                                        and the caller's ``info`` (lesson 05: ``min_freq``, ``split_seed``,
                                        ``split_fractions``, ``mode``, ``training``, ``test``)
==================  ==================  ==================================================

All weights are float32. The CNN's file has no ``lstm.*`` keys. ``head`` says what the Dense layer
reads: ``"last"`` (lesson 05's choice) is the LSTM's hidden state after the last step, which a
PyTorch ``nn.LSTM(batch_first=True)`` gives as ``out[:, -1]``; ``"max"`` is the maximum over time
of the LSTM outputs. Dropout (``dropout``, before the Dense layer) has no weights. Load with
``np.load(path)`` (no pickle needed) or :func:`load_model`; the vocabulary can also be rebuilt
from the corpus with ``split_seed``, ``split_fractions`` and ``min_freq`` (``next_word_data``).
"""
