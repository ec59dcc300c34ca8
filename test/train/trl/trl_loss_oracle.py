"""TRL 1.13's own DPO loss as an outside oracle for `dpoLoss`.

Reads cases from a JSON file (logits [2P, T, V] row-major, labels [2P, T] with -100 unscored,
refLogps [2P], options) and, for each, runs `DPOTrainer._compute_loss` (TRL's code, unmodified) on
those logits. The trainer's settings come from the engine's own `ipo_node.trl_trainer.dpo_config`,
so the sftWeight -> loss_type/loss_weights mapping under test is the one training uses.

TRL scores logits[:, t] against input_ids[:, t + 1]; so the sequences handed to it are one longer:
input_ids[:, t + 1] = labels[:, t] and completion_mask[:, t + 1] = (labels[:, t] != -100), and a
trailing logits row is appended that the shift drops.
"""
import json
import sys
import tempfile
from collections import defaultdict
from types import SimpleNamespace

import torch
from trl import DPOTrainer

from ipo_node.trl_trainer import dpo_config


class FixedLogits(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, **kwargs):
        return SimpleNamespace(logits=self.logits)


def trl_loss(case, scratch):
    P2, T, V = case["sequences"], case["seqLen"], case["vocab"]
    P = P2 // 2
    logits = torch.tensor(case["logits"], dtype=torch.float32).view(P2, T, V)
    labels = torch.tensor(case["labels"], dtype=torch.long).view(P2, T)
    ref = torch.tensor(case["refLogps"], dtype=torch.float32)
    scored = labels != -100
    input_ids = torch.zeros(P2, T + 1, dtype=torch.long)
    input_ids[:, 1:] = torch.where(scored, labels, torch.zeros_like(labels))
    completion_mask = torch.zeros(P2, T + 1, dtype=torch.long)
    completion_mask[:, 1:] = scored.long()
    full_logits = torch.cat([logits, torch.zeros(P2, 1, V)], dim=1)
    o = case["options"]
    config = {
        "micro_batch": P,
        "gradient_accumulation_steps": 1,
        "learning_rate": 1e-6,
        "weight_decay": 0.0,
        "beta": o["beta"],
        "loss_type": o["lossType"],
        "label_smoothing": o["labelSmoothing"],
        "max_length": None,
        "precompute_ref_log_probs": True,
        "save_every": 1,
        "seed": 0,
    }
    args = dpo_config(config, {"steps": 1, "warmup_steps": 0, "sft_weight": o["sftWeight"]}, scratch, False)
    model = FixedLogits(full_logits)
    identity = lambda x: x.reshape(-1) if x.dim() == 0 else x  # one process: gather is the identity
    trainer = SimpleNamespace(
        model=model,
        args=args,
        accelerator=SimpleNamespace(device=torch.device("cpu"), gather=identity, gather_for_metrics=identity),
        aux_loss_enabled=False,
        ld_alpha=None,
        precompute_ref_logps=True,
        f_divergence_type="reverse_kl",
        loss_types=args.loss_type,
        loss_weights=args.loss_weights,
        beta=args.beta,
        label_smoothing=args.label_smoothing,
        use_weighting=False,
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
        _total_train_tokens=0,
        _tp_size=1,
    )
    inputs = {
        "input_ids": input_ids,
        "attention_mask": torch.ones_like(input_ids),
        "completion_mask": completion_mask,
        "ref_chosen_logps": ref[:P],
        "ref_rejected_logps": ref[P:],
    }
    loss = DPOTrainer._compute_loss(trainer, model, inputs, return_outputs=False)
    m = trainer._metrics["train"]
    return {
        "loss": float(loss),
        "lossTypes": list(args.loss_type),
        "lossWeights": list(args.loss_weights),
        "margin": m["rewards/margins"][0],
        "accuracy": m["rewards/accuracies"][0],
        "chosenLogps": m["logps/chosen"][0],
        "rejectedLogps": m["logps/rejected"][0],
    }


with open(sys.argv[1], encoding="utf-8") as f:
    cases = json.load(f)
with tempfile.TemporaryDirectory() as scratch:
    print(json.dumps([trl_loss(c, scratch) for c in cases]))
