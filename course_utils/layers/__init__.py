"""NumPy layers: batch-first, ``params``/``grads`` dicts, ``forward``/``backward``."""

from .activations import ReLU, Sigmoid, Tanh, sigmoid
from .base import Layer
from .conv1d import Conv1D
from .dense import Dense
from .dropout import Dropout
from .embedding import Embedding
from .lstm import LSTM, lstm_step_backward, lstm_step_forward
from .pooling import GlobalMaxPool1D
from .position import PositionChannels
from .sequential import Sequential

__all__ = ["Layer", "Dense", "Embedding", "Conv1D", "ReLU", "Sigmoid", "Tanh", "sigmoid",
           "GlobalMaxPool1D", "PositionChannels", "Dropout", "LSTM", "Sequential", "lstm_step_forward",
           "lstm_step_backward"]
