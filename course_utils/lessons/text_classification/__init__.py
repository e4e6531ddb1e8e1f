"""News-sentence classification (lesson 09): data, split, classical models, Keras LSTMs, the CNN-LSTM
hybrid, evaluation.

==============  ======================================================================
module          what is in it
==============  ======================================================================
``data``        the sentences checked, labels as ids, the split by idea group
``classical``   bag-of-words and TF-IDF features with classical models, chosen on validation
``sequence``    Keras sequence models on word ids, used like a scikit-learn pipeline
``hybrid``      lesson 06's CNN-LSTM (PyTorch) with four outputs, on the same word ids, used the same way
``evaluation``  every model scored the same way, one table, per-class F1, the mistakes
==============  ======================================================================

McNemar's paired test of two models is shared with lesson 08: :func:`course_utils.metrics.compare_paired`.

Four classes, Education / Finance / Politics / Sports, one short sentence each. The lesson holds an
LSTM and lesson 06's CNN-LSTM hybrid against bag-of-words and TF-IDF features with classical models, on
the same splits::

    df = load_news()                                   # checked: columns, labels, texts, groups
    splits = split_by_group(df, seed=0)                # train / val / test, no idea group in two splits
    found = select_on_validation("tfidf", "logistic regression", splits, seed=0)
    found.model.predict(["Shares fell sharply."])      # a scikit-learn Pipeline: raw text in, labels out

    vocab = word_vocab(splits.train.text)              # <PAD>=0, <UNK>=1, the training words, at most 5,000
    lstm = TextSequenceClassifier(build_text_lstm(len(vocab)), WordEncoder(vocab, max_len=32))
    history = lstm.fit(splits, epochs=30, patience=5)  # early stopping on validation, best weights restored
    lstm.predict(["Shares fell sharply."])

    torch.manual_seed(0)                               # the hybrid's initial weights
    hybrid = HybridClassifier(CNNLSTMTorch(len(vocab), 32, num_classes=4, head="max"), WordEncoder(vocab, 32))
    history = hybrid.fit(splits, epochs=30, patience=5)

Conventions, used everywhere below:

- Labels are the class names (strings) in data frames and scikit-learn; the Keras models see integer
  ids ``0..3`` in the order of :data:`CLASSES` (:func:`encode_labels`); so does the hybrid.
- Every model is used the same way: ``model.predict(texts)`` takes raw sentences and returns class
  names, ``(N,)``. So prediction times include turning text into features, for every model alike.
- The validation split chooses everything (hyper-parameters, the epoch, the best model); the test
  split is scored once, at the end.

scikit-learn and Keras are imported inside the functions that need them, so that the data part of this
package imports quickly and without either (``hybrid`` imports PyTorch).
"""
