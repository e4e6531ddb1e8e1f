"""Lesson 08: an emoji for a short sentence, from a Keras 3 LSTM on frozen pre-trained word embeddings,
averaged with a logistic regression on the vectors of a pre-trained sentence encoder.

==============  ======================================================================
module          what is in it
==============  ======================================================================
``data``        the five classes, the sentences of each split, tables of the mistakes
``baseline``    mean word vector -> softmax regression, in NumPy
``model``       the Keras LSTM on a frozen embedding table, and how it was chosen
``sentence_head``  logistic regression on all-MiniLM-L6-v2 sentence vectors (C chosen on validation)
``classifier``  the trained model with its tokeniser: save, load, predict
``training``    the whole recipe in one call (``train_emoji_model``)
``api``         the REST API (FastAPI)
``cli``         the command line: train, predict, serve
==============  ======================================================================

The whole pipeline, as the notebook and the command line run it::

    splits = load_emoji_data()                         # {"train", "val", "test"}: DataFrames (text, label)
    emb = load_embeddings("minilm")                    # the frozen (30522, 384) table and its tokeniser
    max_len = choose_max_len(emb, splits["train"]["text"])
    X = {s: emb.encode(list(df["text"]), max_len) for s, df in splits.items()}   # (N, max_len) int64
    lstm_emb = emb.standardized() if STANDARDIZE else emb      # the table the LSTM reads (chosen on val)
    # frozen Embedding -> LSTM -> LSTM -> Dense(5)
    model = build_emoji_lstm(lstm_emb, learning_rate=LEARNING_RATE)
    history = train_lstm(model, X["train"], y_train, X["val"], y_val)            # early stopping on val
    E = {s: load_sentence_encoder().encode(list(df["text"])) for s, df in splits.items()}   # (N, 384)
    head, table = fit_sentence_head(E["train"], y_train, E["val"], y_val)        # C chosen on validation
    clf = EmojiClassifier(model, lstm_emb, max_len, sentence_head=head)          # the mean of the two
    clf.predict(["I love you"])                        # [{"text": ..., "label": 0, "emoji": "❤️", ...}]
    clf.save("models/emoji_lstm.keras")                # + models/emoji_lstm.json (how to tokenise)
    clf = EmojiClassifier.load("models/emoji_lstm.keras")

and the baseline it has to beat: the mean of a sentence's word vectors -> softmax regression
(:func:`fit_baseline`, in NumPy).

Command line (``python -m course_utils.lessons.emoji --help``)::

    python -m course_utils.lessons.emoji train --out models/emoji_lstm.keras
    python -m course_utils.lessons.emoji predict "I love you" "Let's play ball"
    python -m course_utils.lessons.emoji serve --model models/emoji_lstm.keras --host 127.0.0.1 --port 7860

Always get Keras through :func:`course_utils.keras_setup.import_keras` (it selects the PyTorch backend).
"""
