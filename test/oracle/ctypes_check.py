"""Drives libipo.so (the C ABI, native/include/ipo.h) from Python ctypes and checks it against
PyTorch autograd: what a Python trainer (TRL, OpenRLHF) embedding ipo-node's core would do.
Usage: python3 ctypes_check.py path/to/libipo.so; prints one JSON object."""
import ctypes
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F


class Logits(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32), ("sequences", ctypes.c_int64),
                ("seq_len", ctypes.c_int64), ("vocab", ctypes.c_int64), ("labels", ctypes.c_void_p)]


class Options(ctypes.Structure):
    _fields_ = [("beta", ctypes.c_double), ("loss_type", ctypes.c_int32), ("label_smoothing", ctypes.c_double),
                ("sft_weight", ctypes.c_double), ("threads", ctypes.c_int32)]


class Outputs(ctypes.Structure):
    _fields_ = [("loss", ctypes.c_double), ("accuracy", ctypes.c_double)] + [
        (n, ctypes.c_void_p) for n in ("chosen_logps", "rejected_logps", "chosen_rewards", "rejected_rewards", "margins", "grad")
    ] + [("grad_is_zeroed", ctypes.c_int32)]


class Error(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int32), ("argument", ctypes.c_char * 32), ("message", ctypes.c_char * 256),
                ("sequence", ctypes.c_int64), ("position", ctypes.c_int64)]


def ptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


lib = ctypes.CDLL(sys.argv[1])
rng = np.random.default_rng(7)
P, T, V, beta, sft = 2, 6, 501, 0.1, 0.2
logits = rng.standard_normal((2 * P, T, V)).astype(np.float32) * 2
labels = np.full((2 * P, T), -100, np.int32)
labels[:, 2:] = rng.integers(0, V, (2 * P, T - 2))
ref = rng.uniform(-40, -30, 2 * P).astype(np.float32)
view = Logits(logits.ctypes.data, 0, 2 * P, T, V, labels.ctypes.data)
stats = [np.zeros(P, np.float32) for _ in range(5)]
grad = np.zeros_like(logits)
out = Outputs(0, 0, *[s.ctypes.data for s in stats], grad.ctypes.data, 1)
err = Error()
status = lib.ipo_dpo_loss(ctypes.byref(view), ptr(ref), ctypes.byref(Options(beta, 0, 0.0, sft, 0)), ctypes.byref(out), ctypes.byref(err))

x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
lab = torch.tensor(labels, dtype=torch.long)
mask = lab != -100
tok = torch.gather(x.log_softmax(-1), 2, torch.where(mask, lab, 0).unsqueeze(-1)).squeeze(-1) * mask
seq = tok.sum(-1)
r = torch.tensor(ref, dtype=torch.float64)
h = beta * ((seq[:P] - r[:P]) - (seq[P:] - r[P:]))
loss = -F.logsigmoid(h).mean() + sft * (-seq[:P].sum() / mask[:P].sum())
loss.backward()
g = x.grad.numpy()

labels[1, 3] = V  # a bad label: the ABI must refuse it and name it
bad = lib.ipo_dpo_loss(ctypes.byref(view), ptr(ref), ctypes.byref(Options(beta, 0, 0.0, sft, 0)), ctypes.byref(out), ctypes.byref(err))
print(json.dumps({
    "status": status,
    "lossRelError": abs(out.loss - loss.item()) / abs(loss.item()),
    "chosenRelError": float(np.max(np.abs(stats[0] - seq[:P].detach().numpy()) / np.abs(seq[:P].detach().numpy()))),
    "gradRelNorm": float(np.linalg.norm(grad - g) / np.linalg.norm(g)),
    "badStatus": bad, "badArgument": err.argument.decode(), "badSequence": err.sequence, "badPosition": err.position,
}))
