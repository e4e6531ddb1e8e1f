"""course_utils: verified NumPy layers and helpers for the course
"LSTM and CNN, from scratch to frameworks".

Every layer and loss here passes a float64 gradient check, and Dense, Embedding, Conv1D and
LSTM match their ``torch.nn`` counterparts in outputs and every gradient (see ``tests/``).
"""

from .gradcheck import (
                        check_layer_gradients,
                        check_loss_gradient,
                        check_model_gradients,
                        numerical_gradient,
                        rel_error,
)
from .layers import (
    LSTM,
    Conv1D,
    Dense,
    Dropout,
    Embedding,
    GlobalMaxPool1D,
    Layer,
    PositionChannels,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    lstm_step_backward,
    lstm_step_forward,
    sigmoid,
)
from .losses import bce_with_logits, log_softmax, mse, softmax, softmax_cross_entropy
from .mode import is_quick, pick, run_mode
from .optim import SGD, Adam, clip_grad_norm
from .seeding import get_rng, seed_everything

__version__ = "0.1.0"

__all__ = [
    "Layer", "Dense", "Embedding", "Conv1D", "ReLU", "Sigmoid", "Tanh", "sigmoid", "GlobalMaxPool1D",
    "PositionChannels", "Dropout", "LSTM", "Sequential", "lstm_step_forward", "lstm_step_backward",
    "softmax", "log_softmax", "softmax_cross_entropy", "mse", "bce_with_logits",
    "SGD", "Adam", "clip_grad_norm",
    "rel_error", "numerical_gradient", "check_layer_gradients", "check_loss_gradient",
    "check_model_gradients",
    "seed_everything", "get_rng", "run_mode", "is_quick", "pick",
]
