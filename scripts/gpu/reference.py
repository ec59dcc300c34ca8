"""Float64 PyTorch reference of the three operations (METHOD.md's formulas, TRL's conventions).

Written independently of the native code: log_softmax + gather + masked sum, the DPO loss per loss
type, and the gradient by autograd. Works on any torch device; inputs are upcast from whatever
dtype the kernels saw, so the reference sees exactly the same (rounded) logits.
"""
import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def token_logps(x, labels):
    """x: [S, T, V] any float dtype; labels: [S, T] int. Returns [S, T] float64, 0 where not scored."""
    lsm = torch.log_softmax(x.double(), dim=-1)
    mask = labels != IGNORE_INDEX
    picked = lsm.gather(-1, torch.where(mask, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return torch.where(mask, picked, torch.zeros_like(picked))


def dpo(x, labels, ref_logps, beta=0.1, loss_type="sigmoid", label_smoothing=0.0, sft_weight=0.0):
    """Returns a dict of float64 tensors: loss, accuracy, chosen/rejected logps and rewards, margins, grad."""
    xd = x.detach().double().requires_grad_(True)
    tok = token_logps(xd, labels)
    seq = tok.sum(-1)
    mask = labels != IGNORE_INDEX
    counts = mask.sum(-1).double()
    pairs = x.shape[0] // 2
    ref = ref_logps.double().to(seq.device)
    pc, pr = seq[:pairs], seq[pairs:]
    s_c, s_r = pc - ref[:pairs], pr - ref[pairs:]
    h = beta * (s_c - s_r)
    eps = label_smoothing
    if loss_type == "sigmoid":
        per_pair = -(1 - eps) * F.logsigmoid(h) - eps * F.logsigmoid(-h)
    elif loss_type == "robust":
        per_pair = (-(1 - eps) * F.logsigmoid(h) + eps * F.logsigmoid(-h)) / (1 - 2 * eps)
    elif loss_type == "hinge":
        per_pair = torch.relu(1 - h)
    elif loss_type == "ipo":
        per_pair = (s_c / counts[:pairs] - s_r / counts[pairs:] - 1 / (2 * beta)) ** 2
    else:
        raise ValueError(loss_type)
    loss = per_pair.mean()
    if sft_weight > 0:
        loss = loss + sft_weight * (-tok[:pairs].sum()) / counts[:pairs].sum()
    loss.backward()
    margins = beta * s_c - beta * s_r
    return {
        "loss": loss.detach(),
        "accuracy": (margins > 0).double().mean().detach(),
        "chosen_logps": pc.detach(), "rejected_logps": pr.detach(),
        "chosen_rewards": (beta * s_c).detach(), "rejected_rewards": (beta * s_r).detach(),
        "margins": margins.detach(), "grad": xd.grad.detach(), "seq_logps": seq.detach(),
        "token_logps": tok.detach(),
    }


def trl_dpo_loss(logits, labels, ref_chosen, ref_rejected, beta):
    """What TRL's DPOTrainer computes for the sigmoid loss, on the same layout (labels already
    aligned with logits rows): selective_log_softmax (TRL's implementation, including its per-row
    loop for 16-bit inputs), masked sum, -logsigmoid(beta * margin) averaged over pairs."""
    mask = labels != IGNORE_INDEX
    index = torch.where(mask, labels, 0).long()
    if logits.dtype in (torch.float32, torch.float64):
        selected = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        lse = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])
        per_token = selected - lse
    else:
        rows = []
        for row_logits, row_labels in zip(logits, index):
            row_logps = F.log_softmax(row_logits, dim=-1)
            rows.append(row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1))
        per_token = torch.stack(rows)
    per_token = per_token * mask
    logps = per_token.sum(-1)
    pairs = logits.shape[0] // 2
    h = beta * ((logps[:pairs] - ref_chosen) - (logps[pairs:] - ref_rejected))
    return -F.logsigmoid(h).mean()
