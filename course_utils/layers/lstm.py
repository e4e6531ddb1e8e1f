"""A batched LSTM layer with full backpropagation through time.

One step, for a batch of N sequences (``*`` is the element-wise product)::

    a   = x_t @ W_x + h_{t-1} @ W_h + b          (N, 4H): the four gates' pre-activations
    i   = sigmoid(a[:, 0H:1H])                   input gate:  how much new content to write
    f   = sigmoid(a[:, 1H:2H])                   forget gate: how much old memory to keep
    g   = tanh(a[:, 2H:3H])                      candidate:   the new content
    o   = sigmoid(a[:, 3H:4H])                   output gate: how much memory to show
    c_t = f * c_{t-1} + i * g                    cell state (the memory)
    h_t = o * tanh(c_t)                          hidden state (the output)

The gates are stacked in PyTorch's order (i, f, g, o), so the weights map one to one onto
``torch.nn.LSTM`` (``W_x = weight_ih_l0.T``, ``W_h = weight_hh_l0.T``,
``b = bias_ih_l0 + bias_hh_l0``; see ``course_utils.interop``).

Two faces of the same arithmetic live here:

- :func:`lstm_step_forward` and :func:`lstm_step_backward`: one step, the equations above as code, for
  reading. Going back, with ``dh`` and ``dc`` the gradients arriving at ``h_t`` and ``c_t``::

      dc    += dh * o * (1 - tanh(c_t)^2)         c_t reaches the loss directly and through h_t
      da_i   = dc * g * i (1 - i)                 sigmoid' = s (1 - s)
      da_f   = dc * c_{t-1} * f (1 - f)
      da_g   = dc * i * (1 - g^2)                 tanh' = 1 - tanh^2
      da_o   = dh * tanh(c_t) * o (1 - o)
      dc_{t-1} = dc * f                           the memory path: only the forget gate on it
      dx = da W_x^T,  dh_{t-1} = da W_h^T,  dW_x = x^T da,  dW_h = h_{t-1}^T da,  db = sum(da)

- :class:`LSTM`: the layer the lessons train, the same numbers over all T steps, arranged for speed
  (tested against the step functions to 1e-12 in float64).
"""

from __future__ import annotations

import numpy as np

from ..seeding import get_rng
from .base import Layer, check_float_input, check_grad


class LSTM(Layer):
    """``x (N, T, D) -> h (N, T, H)``, or ``(N, H)`` (the last step) with ``return_sequences=False``.

    Parameters: ``W_x (D, 4H)``, ``W_h (H, 4H)``, ``b (4H,)``; initialised as PyTorch does,
    uniform in ``±1/sqrt(H)``.

    ``forward(x, initial_state=(h0, c0), return_state=True)`` starts from given states, each
    ``(N, H)`` (zeros by default), and also returns the final ``(h_T, c_T)``: feed those into
    the next chunk for truncated backpropagation through time.
    ``backward(dy, d_final_state=(dh_T, dc_T))`` returns ``dx (N, T, D)``, fills ``grads`` and
    stores the gradients of the initial states in ``self.d_initial_state``.

    Inside, arrays are time-major ``(T, N, ...)`` so that each step reads contiguous memory.
    The only Python loop runs over time steps, with one matrix product per step.
    """

    BLOCK_NUMBERS = 1 << 16   # numbers per block of steps in backward (see there): 256 kB in float32

    def __init__(self, input_size: int, hidden_size: int, *, return_sequences: bool = True,
                 rng=None, dtype=np.float32):
        super().__init__(dtype)
        rng = get_rng(rng)
        D, H = input_size, hidden_size
        self.input_size, self.hidden_size, self.return_sequences = D, H, return_sequences
        bound = 1.0 / np.sqrt(H)
        self.params = {
            "W_x": rng.uniform(-bound, bound, (D, 4 * H)).astype(self.dtype),
            "W_h": rng.uniform(-bound, bound, (H, 4 * H)).astype(self.dtype),
            "b": rng.uniform(-bound, bound, 4 * H).astype(self.dtype),
        }
        self.zero_grad()
        self.d_initial_state = None

    def _initial_state(self, initial_state, N):
        """``(h0, c0)`` checked and cast to the layer's dtype, each (N, H); zeros when None."""
        H = self.hidden_size
        if initial_state is None:
            return np.zeros((N, H), self.dtype), np.zeros((N, H), self.dtype)
        if not (isinstance(initial_state, (tuple, list)) and len(initial_state) == 2):
            raise ValueError("LSTM initial_state: expected a pair (h0, c0), "
                             f"got {type(initial_state).__name__}")
        states = []
        for name, s in zip(("h0", "c0"), initial_state):
            s = check_float_input(s, name, self, ndims=(2,), last_dim=H)
            if s.shape[0] != N:
                raise ValueError(f"LSTM {name}: expected shape ({N}, {H}) to match the batch, got {s.shape}")
            states.append(s)
        return tuple(states)

    def _gate_scale_shift(self):
        """Per-column constants that turn ``tanh`` into the sigmoid for the i, f, o gates.

        ``sigmoid(z) = (1 + tanh(z / 2)) / 2``, so one ``np.tanh`` over all 4H columns gives all four
        gates: scale the i, f, o pre-activations by 1/2 before it and apply ``0.5 * t + 0.5`` after it;
        the candidate's columns (g = tanh) keep scale 1 and shift 0. Halving is exact in floating
        point, and the speed-up is large: one transcendental call per step instead of three.
        """
        H = self.hidden_size
        scale = np.full(4 * H, 0.5, self.dtype)
        scale[2 * H:3 * H] = 1.0
        shift = np.full(4 * H, 0.5, self.dtype)
        shift[2 * H:3 * H] = 0.0
        return scale, shift

    def forward(self, x, training: bool = True, initial_state=None, return_state: bool = False):
        """Run the LSTM over all T steps, starting from ``(h0, c0)``.

        Inputs:
        - x: (N, T, D) float with T >= 1; cast to the layer's dtype.
        - training: unused.
        - initial_state: optional pair ``(h0, c0)``, each (N, H) float; zeros when None.
        - return_state: if True, also return the final states.

        Returns:
        - y: (N, T, H), every step's h, if the layer was built with ``return_sequences=True``;
          else (N, H), the last step's h only.
        - (h_T, c_T): only with ``return_state=True``, each (N, H), new arrays: pass them as the
          next chunk's ``initial_state`` for truncated BPTT (the layer does not keep them).

        Caches (time-major) the input, the activated gates and every step's h, c and tanh(c).
        """
        x = check_float_input(x, "input", self, ndims=(3,), last_dim=self.input_size)
        N, T, D = x.shape
        H = self.hidden_size
        if T == 0:
            raise ValueError(f"LSTM input: expected at least one time step, got shape {x.shape}")
        h0, c0 = self._initial_state(initial_state, N)
        scale, shift = self._gate_scale_shift()
        W_h = self.params["W_h"] * scale                            # (H, 4H), i/f/o columns halved

        # Work arrays, time-major (see Layer._scratch for why they are reused).
        x_tm = self._scratch("x_tm", (T, N, D))
        gates = self._scratch("gates", (T, N, 4 * H))  # activated i, f, g, o per step
        hs = self._scratch("hs", (T + 1, N, H))        # hs[0] = h0, hs[t + 1] = h_t
        cs = self._scratch("cs", (T + 1, N, H))        # cs[0] = c0, cs[t + 1] = c_t
        tanh_cs = self._scratch("tanh_cs", (T, N, H))
        ig = self._scratch("ig", (N, H))
        x_tm[...] = x.transpose(1, 0, 2)
        hs[0], cs[0] = h0, c0

        # The input's share of every gate at every step, in one matrix product.
        xw = self._scratch("xw", (T, N, 4 * H))
        np.matmul(x_tm.reshape(T * N, D), self.params["W_x"] * scale, out=xw.reshape(T * N, 4 * H))
        xw += self.params["b"] * scale

        for t in range(T):
            a = gates[t]                                            # (N, 4H), filled in place
            np.matmul(hs[t], W_h, out=a)
            a += xw[t]                                              # pre-activations (i, f, o halved)
            np.tanh(a, out=a)
            a *= scale                                              # i, f, o: sigmoid = 0.5 tanh(z/2) + 0.5
            a += shift                                              # g: tanh, unchanged
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            np.multiply(f, cs[t], out=cs[t + 1])                    # c_t = f * c_{t-1} + i * g
            np.multiply(i, g, out=ig)
            cs[t + 1] += ig
            np.tanh(cs[t + 1], out=tanh_cs[t])
            np.multiply(o, tanh_cs[t], out=hs[t + 1])               # h_t = o * tanh(c_t)

        self._cache = (x_tm, gates, hs, cs, tanh_cs)
        if self.return_sequences:
            y = hs[1:].transpose(1, 0, 2).copy()                # (N, T, H), always a new array
        else:
            y = hs[T].copy()                                        # (N, H)
        if return_state:
            return y, (hs[T].copy(), cs[T].copy())
        return y

    def backward(self, dy, d_final_state=None):
        """Backpropagation through time over the steps of the last ``forward``.

        Inputs:
        - dy: gradient w.r.t. ``y``: (N, T, H) with ``return_sequences``, else (N, H).
        - d_final_state: optional pair ``(dh_T, dc_T)``, each (N, H) or None: gradients w.r.t.
          the final states (e.g. from the next TBPTT chunk), added to what ``dy`` gives.

        Returns:
        - dx: (N, T, D), a new array in the layer's dtype.

        Fills ``grads["W_x"]`` (D, 4H), ``grads["W_h"]`` (H, 4H), ``grads["b"]`` (4H,) and sets
        ``self.d_initial_state = (dh0, dc0)``, each (N, H): the gradients w.r.t. ``(h0, c0)``.
        """
        x_tm, gates, hs, cs, tanh_cs = self._need_cache()
        T, N, D = x_tm.shape
        H = self.hidden_size
        out_shape = (N, T, H) if self.return_sequences else (N, H)
        dy = check_grad(dy, out_shape, self)

        # Gradients flowing back into step T from outside (e.g. the next TBPTT chunk's loss).
        dh_next = np.zeros((N, H), self.dtype)
        dc_next = np.zeros((N, H), self.dtype)
        if d_final_state is not None:
            dh_T, dc_T = d_final_state
            if dh_T is not None:
                dh_next += check_grad(dh_T, (N, H), self, name="dh_T")
            if dc_T is not None:
                dc_next += check_grad(dc_T, (N, H), self, name="dc_T")
        if not self.return_sequences:
            dh_next += dy

        da = self._scratch("da", (T, N, 4 * H))        # gradient of each step's pre-activations
        da4 = da.reshape(T, N, 4, H)                   # (step, example, gate, unit): a view
        f = gates[..., H:2 * H]
        W_hT = np.ascontiguousarray(self.params["W_h"].T)    # (4H, H) in row order: faster products
        dh, dc = np.empty((N, H), self.dtype), np.empty((N, H), self.dtype)
        # The steps go back in blocks of B: the factors of a block are computed together (few large
        # operations) and are still in the processor's cache when the loop reads them (B * N * 4H
        # numbers, about 256 kB in float32).
        B = max(1, min(T, self.BLOCK_NUMBERS // (N * 4 * H)))
        factor = self._scratch("factor", (B, N, 4 * H))
        factor4 = factor.reshape(B, N, 4, H)
        o_dtanh = self._scratch("o_dtanh", (B, N, H))
        for t1 in range(T, 0, -B):
            t0 = max(0, t1 - B)
            n = t1 - t0
            self._backward_factors(gates[t0:t1], cs[t0:t1 + 1], tanh_cs[t0:t1], factor[:n], o_dtanh[:n])
            for t in reversed(range(t0, t1)):
                k = t - t0
                if self.return_sequences:
                    np.add(dh_next, dy[:, t], out=dh)               # the loss at step t + step t+1
                else:
                    dh[...] = dh_next
                np.multiply(dh, o_dtanh[k], out=dc)                 # through h_t = o * tanh(c_t) ...
                dc += dc_next                                       # ... and from c_{t+1}
                # da_i, da_f, da_g: dc times their factors; da_o: dh times its factor
                np.multiply(factor4[k, :, :3], dc[:, None, :], out=da4[t, :, :3])
                np.multiply(factor4[k, :, 3], dh, out=da4[t, :, 3])
                np.multiply(dc, f[t], out=dc_next)                  # c_{t-1} reaches c_t through f
                np.matmul(da[t], W_hT, out=dh_next)                 # h_{t-1} reaches all four gates

        # Weight gradients: one matrix product each over all steps at once.
        da2 = da.reshape(T * N, 4 * H)
        self.grads["W_x"] = x_tm.reshape(T * N, D).T @ da2
        self.grads["W_h"] = hs[:-1].reshape(T * N, H).T @ da2
        self.grads["b"] = da2.sum(axis=0)
        self.d_initial_state = (dh_next, dc_next)
        dx_tm = self._scratch("dx_tm", (T, N, D))
        np.matmul(da2, self.params["W_x"].T, out=dx_tm.reshape(T * N, D))
        return dx_tm.transpose(1, 0, 2).copy()                    # (N, T, D), always a new array

    def _backward_factors(self, gates, cs, tanh_cs, factor, o_dtanh):
        """What the backward pass multiplies the incoming gradients by, for a block of steps at once.

        With ``dc`` the gradient at ``c_t`` and ``dh`` the one at ``h_t``, the pre-activation gradients are
        ``da_i = dc * g i(1 - i)``, ``da_f = dc * c_{t-1} f(1 - f)``, ``da_g = dc * i (1 - g^2)``,
        ``da_o = dh * tanh(c_t) o(1 - o)``, and ``dc = dc_{t+1 -> t} + dh * o (1 - tanh(c_t)^2)``.
        The factors after ``dc`` and ``dh`` are known since the forward pass: computing them here, as a few
        operations on whole blocks, leaves the loop over time with seven small operations per step.

        Inputs: ``gates`` (B, N, 4H), ``cs`` (B + 1, N, H) (``cs[k]`` is ``c_{t-1}`` of the block's step k),
        ``tanh_cs`` (B, N, H). Fills ``factor`` (B, N, 4H) and ``o_dtanh`` (B, N, H).
        """
        H = self.hidden_size
        i, g, o = gates[..., :H], gates[..., 2 * H:3 * H], gates[..., 3 * H:]
        np.multiply(gates, gates, out=factor)                             # s^2 of every gate
        np.subtract(gates[..., :2 * H], factor[..., :2 * H], out=factor[..., :2 * H])   # i, f: s (1 - s)
        np.subtract(o, factor[..., 3 * H:], out=factor[..., 3 * H:])                    # o: s (1 - s)
        np.subtract(1, factor[..., 2 * H:3 * H], out=factor[..., 2 * H:3 * H])          # g: 1 - g^2
        factor[..., :H] *= g                                              # da_i = dc * [g i (1 - i)]
        factor[..., H:2 * H] *= cs[:-1]                                   # da_f = dc * [c_{t-1} f (1 - f)]
        factor[..., 2 * H:3 * H] *= i                                     # da_g = dc * [i (1 - g^2)]
        factor[..., 3 * H:] *= tanh_cs                                    # da_o = dh * [tanh(c_t) o (1 - o)]
        np.multiply(tanh_cs, tanh_cs, out=o_dtanh)
        np.subtract(1, o_dtanh, out=o_dtanh)
        o_dtanh *= o                                                      # dc += dh * [o (1 - tanh^2)]


# ---------------------------------------------------------------------------------------------------
# The readable reference: one step forward and one step back, the textbook lines as code.
# The fast layer above computes the same numbers (tests/test_lstm_steps.py checks it to 1e-12 in float64);
# these two functions are what a learner reads and what lessons 01 and 02 build on.


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _check_step_inputs(x, h_prev, c_prev, W_x, W_h, b) -> None:
    """A ValueError that names the array, the expected and the received shape or dtype."""
    arrays = {"x": x, "h_prev": h_prev, "c_prev": c_prev, "W_x": W_x, "W_h": W_h, "b": b}
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            kind = getattr(value, "dtype", type(value).__name__)
            raise ValueError(f"lstm_step_forward {name}: expected a float array, got {kind}")
    (N, D), H = x.shape if x.ndim == 2 else (None, None), h_prev.shape[-1]
    if N is None:
        raise ValueError(f"lstm_step_forward x: expected shape (N, D), got {x.shape}")
    expected = {"h_prev": (N, H), "c_prev": (N, H), "W_x": (D, 4 * H), "W_h": (H, 4 * H), "b": (4 * H,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ValueError(f"lstm_step_forward {name}: expected shape {shape} "
                             f"(N={N}, D={D}, H={H}), got {arrays[name].shape}")


def lstm_step_forward(x, h_prev, c_prev, W_x, W_h, b):
    """One LSTM step for a batch, gates stacked i, f, g, o.

    Inputs:
    - x: (N, D) the inputs of this step.
    - h_prev, c_prev: (N, H) the hidden and cell states of the previous step.
    - W_x: (D, 4H), W_h: (H, 4H), b: (4H,) the weights, as in :class:`LSTM`.

    Returns:
    - h, c: (N, H) the new hidden and cell states.
    - cache: what :func:`lstm_step_backward` needs (inputs, gates, states).
    """
    _check_step_inputs(x, h_prev, c_prev, W_x, W_h, b)
    H = h_prev.shape[1]
    a = x @ W_x + h_prev @ W_h + b                  # (N, 4H) pre-activations
    i = _sigmoid(a[:, :H])                          # input gate
    f = _sigmoid(a[:, H:2 * H])                     # forget gate
    g = np.tanh(a[:, 2 * H:3 * H])                  # candidate
    o = _sigmoid(a[:, 3 * H:])                      # output gate
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    cache = (x, h_prev, c_prev, W_x, W_h, i, f, g, o, tanh_c)
    return h, c, cache


def lstm_step_backward(dh, dc, cache):
    """Back through one step: the gradients of everything :func:`lstm_step_forward` read.

    Inputs:
    - dh: (N, H) the gradient arriving at this step's ``h`` (from the loss and from the next step).
    - dc: (N, H) the gradient arriving at this step's ``c`` from the next step (zeros at the last step).
    - cache: from :func:`lstm_step_forward`.

    Returns:
    - dx: (N, D); dh_prev, dc_prev: (N, H), to pass to the previous step;
    - dW_x: (D, 4H), dW_h: (H, 4H), db: (4H,), this step's share (sum them over the steps).
    """
    x, h_prev, c_prev, W_x, W_h, i, f, g, o, tanh_c = cache
    do = dh * tanh_c                                # h = o * tanh(c)
    dc = dc + dh * o * (1 - tanh_c ** 2)            # c reaches the loss directly and through h
    di, df, dg = dc * g, dc * c_prev, dc * i        # c = f * c_prev + i * g
    dc_prev = dc * f                                # the memory's path back: multiplied by f, nothing else
    da = np.concatenate([di * i * (1 - i),          # sigmoid' = s (1 - s)
                         df * f * (1 - f),
                         dg * (1 - g ** 2),          # tanh' = 1 - tanh^2
                         do * o * (1 - o)], axis=1)  # (N, 4H)
    dx = da @ W_x.T                                 # a = x W_x + h_prev W_h + b
    dh_prev = da @ W_h.T
    dW_x = x.T @ da
    dW_h = h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dW_x, dW_h, db
