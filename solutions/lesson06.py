"""Worked solutions of lesson 06's code exercises (checked by ``course_utils.exercises.lesson06``)."""

import torch.nn.functional as F
from torch import nn


def train_step(model, optimizer, X, Y, clip_norm):
    """One mini-batch: forward, loss, clear old gradients, backward, clip, step. Returns (loss, norm)."""
    model.train()                               # dropout on: evaluation (TorchPredictor, say) switches it off
    logits = model(X)                           # (N, V): no softmax here ...
    loss = F.cross_entropy(logits, Y)           # ... it is inside cross_entropy (the mean over the batch)
    optimizer.zero_grad()                       # backward *adds* to .grad: clear what an earlier pass left
    loss.backward()                             # autograd fills .grad of every parameter
    # The global norm over all parameters together, as lesson 05 clipped; the function returns the norm
    # *before* clipping (the number worth logging) and rescales .grad in place when it is above clip_norm
    norm = nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()                            # the update uses the clipped .grad
    return loss.item(), float(norm)             # plain floats: no graph kept alive by the caller


def hybrid_params_from_torch(state):
    """A ``CNNLSTMTorch`` state_dict (NumPy arrays) -> the arrays of lesson 05's weight file."""
    return {
        "embedding.W": state["embedding.weight"],               # (V, E): the same layout in both
        # nn.Conv1d keeps (out channels, in channels, width); the NumPy Conv1D (width, in, out)
        "conv.W": state["conv.weight"].transpose(2, 1, 0),      # (F, E, k) -> (k, E, F)
        "conv.b": state["conv.bias"],
        # PyTorch stores (4H, in) and multiplies W x; NumPy stores (in, 4H) and multiplies x W. The gates
        # are stacked in the same order (i, f, g, o) in both, so a transpose is all it takes
        "lstm.W_x": state["lstm.weight_ih_l0"].T,               # (4H, F) -> (F, 4H)
        "lstm.W_h": state["lstm.weight_hh_l0"].T,               # (4H, H) -> (H, 4H)
        # PyTorch adds two biases that always appear as a sum; after training both are non-zero, so the
        # one NumPy bias is their sum (copying bias_ih_l0 alone is right only for a model that came from
        # NumPy, whose bias_hh_l0 is still zero)
        "lstm.b": state["lstm.bias_ih_l0"] + state["lstm.bias_hh_l0"],
        "dense.W": state["dense.weight"].T,                     # nn.Linear (V, H) -> Dense (H, V)
        "dense.b": state["dense.bias"],
    }
