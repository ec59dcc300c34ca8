"""One IPO stage as a TRL 1.13 DPOTrainer: the DPOConfig that reproduces the Node schedule, the
trainer class (pre-tokenized rows, optionally the fused loss of `ipo_node.trl_fused`), and the
callback that reports each optimizer step.

Loss mapping: our loss is mean_i L_i + sftWeight * (sum of -logp over scored chosen tokens / their
count). TRL 1.13 sums `loss_weights[k] * mean(per_sequence_loss_k)` over `loss_type`, and its "sft"
term is `F.cross_entropy` over every completion token of the chosen half: a token mean over the
batch. So sftWeight w maps to `loss_type=[type, "sft"]`, `loss_weights=[1.0, w]` exactly (w = 0: the
"sft" term is left out). test/train/trl/loss-parity.test.ts checks this against TRL's own code.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re

from .trl_events import emit, info


def latest_checkpoint(output_dir: str) -> tuple[str | None, int]:
    """The newest `checkpoint-N` folder TRL wrote in `output_dir` and its step, or (None, 0)."""
    best, step = None, 0
    for path in glob.glob(os.path.join(output_dir, "checkpoint-*")):
        match = re.fullmatch(r"checkpoint-(\d+)", os.path.basename(path))
        if match and os.path.exists(os.path.join(path, "trainer_state.json")) and int(match.group(1)) > step:
            best, step = path, int(match.group(1))
    return best, step


def resolve_fused(mode) -> tuple[object | None, str]:
    """(make_fused_trainer_class or None, why). mode: "auto", True or False. True and unavailable raises."""
    if mode is False:
        return None, "fused loss off (--no-fused-loss): TRL's own loss"
    try:
        from . import trl_fused  # written by the PyTorch-bridge work; absent in some installs
    except ImportError as err:
        available, reason = False, f"ipo_node.trl_fused is not importable ({err})"
    else:
        available, reason = trl_fused.fused_loss_status()
    if available:
        return trl_fused.make_fused_trainer_class, f"fused loss on: {reason}"
    if mode is True:
        raise RuntimeError(f"--fused-loss was asked for but is unavailable: {reason}")
    return None, f"fused loss unavailable, using TRL's own loss: {reason}"


def lr_factor(k: int, total_steps: int, warmup: int) -> float:
    """Share of the peak learning rate at 0-based step k: warm-up (k + 1) / (W + 1), not Hugging Face's
    k / W (whose first step runs at lr 0 and trains nothing), then a half cosine to 0. The same function
    as `cosineWithWarmup` in lib/train/schedule.ts."""
    if k < warmup:
        return (k + 1) / (warmup + 1)
    progress = (k - warmup) / max(1, total_steps - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


def trainer_class(make_fused):
    from transformers import TrainerCallback
    from trl import DPOTrainer

    class IpoDPOTrainer(DPOTrainer):
        """DPOTrainer fed rows tokenized by ipo-node (`tokenizePair`): TRL must not tokenize again."""

        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            return dataset

        def create_scheduler(self, num_training_steps, optimizer=None):
            """lib/train/schedule.ts `cosineWithWarmup`, so both engines step the same learning rates."""
            if self.lr_scheduler is None:
                from torch.optim.lr_scheduler import LambdaLR

                warmup = self.args.get_warmup_steps(num_training_steps)
                self.lr_scheduler = LambdaLR(optimizer or self.optimizer, lambda k: lr_factor(k, num_training_steps, warmup))
                self._created_lr_scheduler = True
            return self.lr_scheduler

    cls = make_fused(IpoDPOTrainer) if make_fused else IpoDPOTrainer

    class StepEvents(TrainerCallback):
        """Emits one `step` event per optimizer step: loss, margin, accuracy and the lr that step used."""

        def __init__(self, stage: int):
            self.stage = stage
            self.lr = None

        def on_step_begin(self, args, state, control, lr_scheduler=None, **kwargs):
            self.lr = float(lr_scheduler.get_last_lr()[0]) if lr_scheduler is not None else None

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not logs or "loss" not in logs:
                return
            emit(
                "step",
                stage=self.stage,
                step=state.global_step,
                loss=float(logs["loss"]),
                margin=float(logs.get("rewards/margins", float("nan"))),
                accuracy=float(logs.get("rewards/accuracies", float("nan"))),
                lr=self.lr,
            )

    return cls, StepEvents


def dpo_config(config: dict, stage: dict, output_dir: str, use_bf16: bool):
    import torch
    from trl import DPOConfig

    sft = float(stage["sft_weight"])
    loss_type = [config["loss_type"]] + (["sft"] if sft > 0 else [])
    loss_weights = [1.0] + ([sft] if sft > 0 else [])
    return DPOConfig(
        output_dir=output_dir,
        per_device_train_batch_size=config["micro_batch"],
        gradient_accumulation_steps=config["gradient_accumulation_steps"],
        max_steps=stage["steps"],
        learning_rate=config["learning_rate"],
        lr_scheduler_type="cosine",
        warmup_steps=stage["warmup_steps"],
        weight_decay=config["weight_decay"],
        beta=config["beta"],
        loss_type=loss_type,
        loss_weights=loss_weights,
        label_smoothing=config["label_smoothing"],
        max_length=config["max_length"],
        precompute_ref_log_probs=config["precompute_ref_log_probs"],
        train_sampling_strategy="sequential",
        remove_unused_columns=False,
        logging_steps=1,
        save_strategy="steps",
        save_steps=config["save_every"],
        save_total_limit=1,
        report_to=[],
        seed=config["seed"],
        data_seed=config["seed"],
        bf16=use_bf16,
        disable_tqdm=True,
        gradient_checkpointing=config.get("gradient_checkpointing", False),
        model_init_kwargs={"dtype": "bfloat16" if use_bf16 else "float32"},
        dataloader_num_workers=0,
        # Without a GPU, torchrun-launched processes form a gloo group only when accelerate is told "cpu".
        use_cpu=not torch.cuda.is_available(),
    )


def lora_config(rank: int):
    if rank <= 0:
        return None
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")


def save_stage(trainer, tokenizer, stage_dir: str, lora: bool, chat_template: str | None) -> None:
    """A Hugging Face folder (safetensors, tokenizer, chat template) that vLLM and `ipo eval` load."""
    if lora:
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        if trainer.accelerator.is_main_process:
            merged.save_pretrained(stage_dir, safe_serialization=True)
            tokenizer.save_pretrained(stage_dir)
        trainer.model = merged
    else:
        trainer.save_model(stage_dir)  # gathers ZeRO-3 / FSDP shards; writes the processing class too
        if trainer.accelerator.is_main_process:
            tokenizer.save_pretrained(stage_dir)
    if trainer.accelerator.is_main_process and chat_template:
        # transformers 5 writes the template to chat_template.jinja; tools reading tokenizer_config.json
        # (ipo-node's own tokenizer loader among them) find it there too.
        path = os.path.join(stage_dir, "tokenizer_config.json")
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        cfg["chat_template"] = chat_template
        with open(path, "w", encoding="utf-8") as f:
            json.dump(cfg, f, ensure_ascii=False, indent=2)
    trainer.accelerator.wait_for_everyone()
