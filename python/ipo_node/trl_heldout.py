"""Held-out margins against the initial model, the same quantity the TensorFlow.js engine reports:
margin_i = beta * ((pi_c - base_c) - (pi_r - base_r)), summed log-probs over the segment tokens.

The policy and the base are scored by this one function with the same batching, so before any
update the margins are exactly 0 (not rounding noise counted as accuracy).
"""
from __future__ import annotations

import torch
from trl.trainer.utils import selective_log_softmax


@torch.no_grad()
def segment_logps(model, rows: list[dict], pad_id: int, batch_size: int = 8) -> list[tuple[float, float]]:
    """[(chosen, rejected)] summed log-probs of each row's segments given its prompt."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out: list[tuple[float, float]] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        seqs = [r["prompt_ids"] + r["chosen_ids"] for r in chunk] + [r["prompt_ids"] + r["rejected_ids"] for r in chunk]
        starts = [len(r["prompt_ids"]) for r in chunk] * 2
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
        attention = torch.zeros((len(seqs), width), dtype=torch.long)
        scored = torch.zeros((len(seqs), width), dtype=torch.bool)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = torch.tensor(s)
            attention[i, : len(s)] = 1
            scored[i, starts[i] : len(s)] = True
        ids, attention, scored = ids.to(device), attention.to(device), scored.to(device)
        logits = model(input_ids=ids, attention_mask=attention, use_cache=False).logits[:, :-1, :].float()
        per_token = selective_log_softmax(logits, ids[:, 1:])
        per_token = per_token.masked_fill(~scored[:, 1:], 0.0)
        sums = per_token.sum(dim=1).tolist()
        n = len(chunk)
        out.extend(zip(sums[:n], sums[n:]))
    if was_training:
        model.train()
    return out


def margins(policy: list[tuple[float, float]], base: list[tuple[float, float]], beta: float) -> list[float]:
    return [beta * ((pc - bc) - (pr - br)) for (pc, pr), (bc, br) in zip(policy, base)]
