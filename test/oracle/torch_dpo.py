"""Independent oracle: TRL's DPO computation in PyTorch autograd (float64), for the parity test.

Reads a JSON list of batches from stdin (one process, torch imported once): logits (flat, float values), seqLen, vocab, labels, refLogps, and
options {beta, lossType, labelSmoothing, sftWeight}. Writes JSON: loss, chosenLogps, rejectedLogps,
margins, tokenLogps, grad (flat). Written from TRL's DPOTrainer formulas, not from ipo-node's code.
"""
import json
import sys

import torch
import torch.nn.functional as F


def solve(req):
    T, V = req["seqLen"], req["vocab"]
    labels = torch.tensor(req["labels"], dtype=torch.long).view(-1, T)
    S = labels.shape[0]
    logits = torch.tensor(req["logits"], dtype=torch.float64).view(S, T, V).requires_grad_(True)
    ref = torch.tensor(req["refLogps"], dtype=torch.float64)
    o = req["options"]
    beta, eps, sft, loss_type = o["beta"], o["labelSmoothing"], o["sftWeight"], o["lossType"]

    mask = labels != -100
    safe = torch.where(mask, labels, torch.zeros_like(labels))
    per_token = torch.gather(logits.log_softmax(-1), 2, safe.unsqueeze(-1)).squeeze(-1) * mask
    seq = per_token.sum(-1)
    counts = mask.sum(-1).to(torch.float64)
    P = S // 2
    pc, pr, rc, rr = seq[:P], seq[P:], ref[:P], ref[P:]
    if loss_type == "ipo":
        logits_d = (pc - rc) / counts[:P] - (pr - rr) / counts[P:]
        losses = (logits_d - 1 / (2 * beta)) ** 2
    else:
        h = beta * ((pc - rc) - (pr - rr))
        if loss_type == "sigmoid":
            losses = -F.logsigmoid(h) * (1 - eps) - F.logsigmoid(-h) * eps
        elif loss_type == "robust":
            losses = (-F.logsigmoid(h) * (1 - eps) + F.logsigmoid(-h) * eps) / (1 - 2 * eps)
        elif loss_type == "hinge":
            losses = torch.relu(1 - h)
        else:
            raise ValueError(loss_type)
    loss = losses.mean()
    if sft > 0:
        loss = loss + sft * (-seq[:P].sum() / counts[:P].sum())
    loss.backward()
    margins = beta * ((pc - rc) - (pr - rr))
    return {
            "loss": loss.item(),
            "chosenLogps": pc.tolist(),
            "rejectedLogps": pr.tolist(),
            "margins": margins.tolist(),
            "tokenLogps": per_token.flatten().tolist(),
            "grad": logits.grad.flatten().tolist(),
    }


json.dump([solve(req) for req in json.load(sys.stdin)], sys.stdout)
