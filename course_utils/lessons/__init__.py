"""What only one lesson needs. The core of ``course_utils`` (layers, losses, optimizers, metrics, text,
data, training, progress) never imports from here.

==========================  =======  ==========================================================
module                      lesson   what is in it
==========================  =======  ==========================================================
``characters``              02       characters as integers, batches for truncated BPTT, sampling
``forecasting``             03       chronological splits, windows, a scaler, baselines
``next_word``               04-06    the medical corpus, the CNN and CNN + LSTM in NumPy, n-gram
                                     baselines, training; ``next_word.torch_hybrid`` for 06
``pneumonia``               07       X-ray data, augmentation, the CNN, training, Grad-CAM
``emoji``                   08       data, baseline, the Keras LSTM, the classifier, the REST API
                                     and the command line (``python -m course_utils.lessons.emoji``)
``text_classification``     09       news sentences, classical models, Keras sequence models
==========================  =======  ==========================================================
"""
