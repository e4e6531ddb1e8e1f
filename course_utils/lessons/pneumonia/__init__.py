"""Chest X-ray classification with PyTorch (lesson 07).

================  ====================================================================
module            what is in it
================  ====================================================================
``data``          the npz file checked on loading, class subsampling, images to tensors
``augmentation``  affine warps and exposure changes written with torch operations
``model``         the CNN (4 conv blocks, then 256 -> 128 -> 1 logit) and its predictions
``training``      the training loop with early stopping on validation
``evaluation``    ROC-AUC row by row, and the paired bootstrap standard error of a gain in ROC-AUC
``gradcam``       Grad-CAM: which pixels pushed the prediction
================  ====================================================================

The metrics (accuracy, precision, recall, specificity, F1, ROC-AUC, the threshold chosen on
validation) are shared with other lessons and live in :mod:`course_utils.metrics`.

    data = load_pneumonia("balanced", 28)          # the class-balanced 28-pixel file that ships in data/
    augment = lambda x, g: random_intensity(random_affine(x, g), g)   # geometry, then a new exposure
    model = build_cnn(28, channels=(16, 32, 64, 128), mean=..., std=...)
    history = train_classifier(model, data.train, data.val, epochs=40, augment=augment)
    prob = predict_proba([model, ...], data.test[0], flip=True)   # P(pneumonia): several networks, both views
    binary_metrics(data.test[1], prob, threshold=0.5)
    gain, se = auc_gain(data.test[1], prob, baseline_prob)         # beats the baseline if gain > se

Images stay ``uint8`` arrays of shape ``(N, H, W)`` until they meet the model; every function that
feeds the model turns them into float tensors ``(N, 1, H, W)`` in [0, 1]. The model standardises
its input itself (with the training mean and standard deviation, or per image), so augmentation,
prediction and Grad-CAM all work on plain [0, 1] images. Labels are ``int64`` arrays of shape ``(N,)``:
0 = NORMAL, 1 = PNEUMONIA (MedMNIST's PneumoniaMNIST convention).
"""
