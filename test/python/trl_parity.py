"""The fused TRL subclass against TRL 1.13's own DPOTrainer and the float64 oracle. Prints one JSON object.

`loss`: both trainers' `_compute_loss` on the same logits (a stand-in model that returns them) and the
same collated batch with precomputed reference log-probs, for every kernel loss type, with and without
the "sft" term, float32 and bfloat16, an odd vocabulary, prompt and padding rows unscored: loss and
gradient of each against the float64 oracle (scripts/gpu/reference.py) and against each other, and the
logged metrics of both.
`train`: a real two-step training run of a 2-layer random-init Qwen3 with plain DPOTrainer and with the
fused subclass (reference model from the saved folder, precomputed reference log-probs, and a LoRA
adapter, on lm_head too, whose disabled state is the reference): the first step's parameter gradients, every logged
loss and metric, and the final weights.
"""
import contextlib
import json
import math
import sys
import tempfile
import types
import warnings

import support
import torch

import ipo_node
import reference as R

VOCAB = 1031


def rel(a, b):
    a, b = a.double(), b.double()
    if not torch.isfinite(a).all():
        return math.inf
    n = torch.linalg.vector_norm(b).item()
    return torch.linalg.vector_norm(a - b).item() / n if n > 0 else torch.linalg.vector_norm(a - b).item()


class FixedLogits(torch.nn.Module):
    """Stands in for the policy: returns the given logits whatever the batch."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, **kwargs):
        return types.SimpleNamespace(logits=self.logits)


def metric_diffs(a, b):
    keys = sorted(set(a) | set(b))
    out = {}
    for k in keys:
        if k not in a or k not in b:
            out[k] = None
        else:
            out[k] = max(abs(x - y) / max(abs(y), 1e-3) for x, y in zip(a[k], b[k])) if a[k] else 0.0
    return out


def loss_cases(plain, fused, batch):
    g = torch.Generator().manual_seed(5)
    S, T = batch["input_ids"].shape
    labels = ipo_node.causal_labels(batch["input_ids"], batch["completion_mask"])
    configs = [("sigmoid", [1.0], 0.0), ("sigmoid", [1.0], 0.2), ("robust", [1.0], 0.15), ("hinge", [1.0], 0.0),
               ("ipo", [1.0], 0.0)]
    results = []
    for dtype in (torch.float32, torch.bfloat16):
        for loss_type, weights, smoothing in configs:
            for sft in (None, (0.5, 0.3)):
                types_ = [loss_type] + (["sft"] if sft else [])
                w = list(sft) if sft else weights
                x = (torch.randn(S, T, VOCAB, generator=g) * 3).to(dtype)
                ref = -torch.rand(S, generator=g) * 40
                inputs = dict(batch, ref_chosen_logps=ref[: S // 2], ref_rejected_logps=ref[S // 2:])
                out = {"name": f"{str(dtype)[6:]} {'+'.join(types_)} weights={w} eps={smoothing}"}
                grads, losses, metrics = {}, {}, {}
                for name, trainer in (("trl", plain), ("fused", fused)):
                    trainer.loss_types, trainer.loss_weights = types_, w
                    trainer.label_smoothing = smoothing
                    trainer.precompute_ref_logps = True
                    trainer._metrics["train"].clear()
                    leaf = x.clone().requires_grad_(True)
                    loss = trainer._compute_loss(FixedLogits(leaf), inputs, False)
                    loss.backward()
                    grads[name], losses[name] = leaf.grad, loss.detach()
                    metrics[name] = {k: list(v) for k, v in trainer._metrics["train"].items()}
                eps = smoothing if loss_type == "robust" else 0.0  # TRL's sigmoid ignores label_smoothing
                sft_rel = w[1] / w[0] if sft else 0.0
                oracle = R.dpo(x, labels, ref, beta=plain.beta, loss_type=loss_type, label_smoothing=eps,
                               sft_weight=sft_rel)
                scale = w[0]
                oracle_loss, oracle_grad = oracle["loss"] * scale, oracle["grad"] * scale
                out.update({
                    "dtype": str(dtype)[6:],
                    "fusedLossVsOracle": rel(losses["fused"].reshape(1), oracle_loss.reshape(1)),
                    "trlLossVsOracle": rel(losses["trl"].reshape(1), oracle_loss.reshape(1)),
                    "fusedLossVsTrl": rel(losses["fused"].reshape(1), losses["trl"].reshape(1)),
                    "fusedGradVsOracle": rel(grads["fused"], oracle_grad),
                    "trlGradVsOracle": rel(grads["trl"], oracle_grad),
                    "fusedGradVsTrl": rel(grads["fused"], grads["trl"]),
                    "gradDtypes": [str(grads["fused"].dtype)[6:], str(grads["trl"].dtype)[6:]],
                    "metrics": metric_diffs(metrics["fused"], metrics["trl"]),
                })
                results.append(out)
    return results


def train_run(cls, model_path, rows, tokenizer, out_dir, peft=False, **config):
    peft_config = None
    if peft:  # TRL disables the adapter for the reference log-probs (no reference model)
        from peft import LoraConfig
        peft_config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "lm_head"],
                                 lora_dropout=0.0, init_lora_weights=False)
    trainer = support.make_trainer(cls, model_path, rows, tokenizer, out_dir, peft_config=peft_config, **config)
    # First step's gradient on one collated batch, before any update.
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])  # with precomputed ref logps
    trainer.model.train()
    trainer.model.zero_grad()
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in trainer.model.named_parameters() if p.grad is not None}
    trainer.model.zero_grad()
    trainer._metrics["train"].clear()
    trainer.train()
    history = [h for h in trainer.state.log_history if "loss" in h]
    weights = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
    ref = None
    if "ref_chosen_logps" in trainer.train_dataset.column_names:  # precomputed by compute_ref_log_probs
        ref = torch.tensor(list(trainer.train_dataset["ref_chosen_logps"]) + list(trainer.train_dataset["ref_rejected_logps"]))
    return {"loss0": loss.item(), "grads": grads, "history": history, "weights": weights, "ref": ref}


def train_cases(plain_cls, fused_cls, model_path, rows, tokenizer, tmp):
    results = []
    for name, peft, config in (("reference model", False, {}),
                               ("precomputed reference", False, {"precompute_ref_log_probs": True}),
                               ("sigmoid+sft", False, {"loss_type": ["sigmoid", "sft"], "loss_weights": [1.0, 0.2]}),
                               ("LoRA adapter", True, {})):
        runs = {}
        for label, cls in (("trl", plain_cls), ("fused", fused_cls)):
            runs[label] = train_run(cls, model_path, rows, tokenizer, f"{tmp}/{label}", peft=peft, **config)
        a, b = runs["fused"], runs["trl"]
        keys = sorted(b["history"][0])
        results.append({
            "name": name,
            "steps": len(b["history"]),
            "loss0": [a["loss0"], b["loss0"]],
            "gradParams": [len(a["grads"]), len(b["grads"])],
            "gradMaxRel": max(rel(a["grads"][k], b["grads"][k]) for k in b["grads"]),
            "logKeysFused": sorted(a["history"][0]), "logKeysTrl": keys,
            "historyMaxRel": {k: max(abs(x[k] - y[k]) / max(abs(y[k]), 1e-3) for x, y in zip(a["history"], b["history"]))
                              for k in keys if k in a["history"][0] and isinstance(b["history"][0][k], float)
                              and k not in ("epoch", "learning_rate")},
            "losses": [[h["loss"] for h in a["history"]], [h["loss"] for h in b["history"]]],
            "weightsMaxRel": max(rel(a["weights"][k], b["weights"][k]) for k in b["weights"]),
            "precomputedRefRel": None if b["ref"] is None else rel(a["ref"], b["ref"]),
        })
    return results


def main():
    warnings.filterwarnings("ignore")
    torch.set_num_threads(2)
    plain_cls, fused_cls = support.trainer_classes()
    tokenizer = support.tiny_tokenizer(VOCAB)
    rows = support.preference_rows(VOCAB, 8, seed=3)
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):  # Trainer prints its logs
        model_path = f"{tmp}/tiny-qwen3"
        support.tiny_qwen3(model_path, VOCAB)
        plain = support.make_trainer(plain_cls, model_path, rows, tokenizer, f"{tmp}/a")
        fused = support.make_trainer(fused_cls, model_path, rows, tokenizer, f"{tmp}/b")
        plain.model.train()
        fused.model.train()  # metrics land in _metrics["train"]
        batch = plain.data_collator(rows[:3])
        result = {"fusedClass": type(fused).__name__, "isSubclass": isinstance(fused, plain_cls),
                  "batchShape": list(batch["input_ids"].shape),
                  "unscoredShare": 1 - batch["completion_mask"][:, 1:].float().mean().item(),
                  "loss": loss_cases(plain, fused, batch)}
        if "--loss-only" not in sys.argv:
            result["train"] = train_cases(plain_cls, fused_cls, model_path, rows, tokenizer, tmp)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
