"""`ipo train --engine trl`, the Python side: IPO's two stages under TRL's DPOTrainer.

    python -m ipo_node.trl_train OUT/trl/config.json                  (one process)
    accelerate launch [--num_processes N ...] -m ipo_node.trl_train OUT/trl/config.json

The Node CLI writes the config and the rows: every pair already tokenized by `tokenizePair`
(prompt_ids = the shared context, chosen_ids / rejected_ids = the segments), one JSONL file per
stage in the exact order of lib/train/schedule.ts (`TwoStageSchedule`), so both engines draw and mix
the same pairs. Each stage reads its file sequentially, `batch_size` rows per optimizer step.

Stage 1 trains the input model on the harmful pairs (reference = the input model); stage 2 trains
OUT/stage1 on harmful + benign pairs with the SFT term (reference = OUT/stage1). After each stage
the model is saved to OUT/stageN with a marker file; TRL checkpoints in OUT/stageN-trainer make a
re-run with the same OUT resume mid-stage. Held-out margins are measured against the input model.
Progress goes to stdout as `@ipo {json}` events (ipo_node.trl_events).
"""
from __future__ import annotations

import json
import os
import shutil
import sys

from . import trl_env
from .trl_events import emit, info, is_main_process

MARKER = "ipo-stage.json"


def read_rows(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def stage_done(out: str, stage: int) -> bool:
    return os.path.exists(os.path.join(out, f"stage{stage}", MARKER))


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ipo_node.trl_train CONFIG.json", file=sys.stderr)
        return 2
    problem = trl_env.check()
    if problem:
        emit("error", message=problem)
        print(problem, file=sys.stderr)
        return 3
    with open(argv[0], encoding="utf-8") as f:
        config = json.load(f)
    if config.get("version") != 1:
        raise SystemExit(f"{argv[0]}: unknown config version {config.get('version')!r}")
    try:
        return run(config)
    except RuntimeError as err:
        emit("error", message=str(err))
        print(f"ipo train --engine trl: {err}", file=sys.stderr)
        return 1


def run(config: dict) -> int:
    import torch
    from transformers import AutoTokenizer, set_seed
    from datasets import Dataset

    from .trl_heldout import margins, segment_logps
    from .trl_trainer import dpo_config, latest_checkpoint, lora_config, resolve_fused, save_stage, trainer_class

    out = config["out"]
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world != config["num_processes"]:
        raise RuntimeError(f"the config was written for {config['num_processes']} processes but {world} are running: the global batch would differ")
    make_fused, why = resolve_fused(config["fused_loss"])
    info(why)
    bf16 = config["bf16"]
    use_bf16 = bool(bf16) if bf16 != "auto" else bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    if not torch.cuda.is_available():
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    tokenizer = AutoTokenizer.from_pretrained(config["tokenizer"])
    chat_template = getattr(tokenizer, "chat_template", None)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    trainer_cls, step_events = trainer_class(make_fused)

    # Where to start: the first stage without its marker, at its last TRL checkpoint.
    stages = config["stages"]
    todo = [s for s in stages if not stage_done(out, s["stage"])]
    if not todo:
        emit("start", stage=stages[-1]["stage"], step=stages[-1]["steps"], finished=True)
        return 0
    first = todo[0]
    _, resume_step = latest_checkpoint(os.path.join(out, f"stage{first['stage']}-trainer"))
    emit("start", stage=first["stage"], step=resume_step, finished=False)

    held = {split: read_rows(path) for split, path in config["heldout"].items()}
    base_path = os.path.join(out, "trl", "base-heldout.json")
    need_base = any(held.values()) and (first["stage"] == 1 and resume_step == 0 or not os.path.exists(base_path))
    base = {split: [] for split in held}
    if any(held.values()) and not need_base:
        with open(base_path, encoding="utf-8") as f:
            base = {k: [tuple(x) for x in v] for k, v in json.load(f).items()}
    for stage in todo:
        n = stage["stage"]
        set_seed(config["seed"] + n)
        stage_dir = os.path.join(out, f"stage{n}")
        trainer_dir = os.path.join(out, f"stage{n}-trainer")
        start_model = config["model"] if n == 1 else os.path.join(out, "stage1")
        rows = read_rows(stage["rows"])
        dataset = Dataset.from_list([{k: r[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")} for r in rows])
        args = dpo_config(config, stage, trainer_dir, use_bf16)
        trainer = trainer_cls(
            model=start_model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=lora_config(config["lora_rank"]),
            callbacks=[step_events(n)],
        )
        if need_base:
            # The input model's held-out log-probs, from the trainer's own copy before any update (no
            # second load of a large model; right under ZeRO-3, FSDP and LoRA alike).
            if n != 1:
                raise RuntimeError(f"{base_path} is missing and stage 1 is finished: re-run with --fresh")
            model = trainer.accelerator.unwrap_model(trainer.model)
            base = {split: segment_logps(model, rows_held, pad_id, config["eval_batch"]) for split, rows_held in held.items()}
            if is_main_process():
                with open(base_path + ".tmp", "w", encoding="utf-8") as f:
                    json.dump(base, f)
                os.replace(base_path + ".tmp", base_path)
            for split, rows_held in held.items():
                if rows_held:
                    report(split, 1, 0, [0.0] * len(rows_held))
            need_base = False
        state = trainer.accelerator.state
        info(f"stage {n}: {state.num_processes} process(es), {state.distributed_type.value}" + (f" ({state.backend})" if state.backend else "") + f", device {state.device}")
        emit("stage", stage=n, steps=stage["steps"], pairs=len(rows), model=start_model)
        checkpoint, step = latest_checkpoint(trainer_dir)
        if checkpoint:
            info(f"stage {n}: resuming from {checkpoint} (step {step})")
        trainer.train(resume_from_checkpoint=checkpoint)
        model = trainer.accelerator.unwrap_model(trainer.model)
        if config["lora_rank"] > 0:
            save_stage(trainer, tokenizer, stage_dir, True, chat_template)
            model = trainer.model
        else:
            save_stage(trainer, tokenizer, stage_dir, False, chat_template)
        for split, rows_held in held.items():
            if rows_held:
                policy = segment_logps(model, rows_held, pad_id, config["eval_batch"])
                report(split, n, stage["steps"], margins(policy, base[split], config["beta"]))
        if trainer.accelerator.is_main_process:
            with open(os.path.join(stage_dir, MARKER), "w", encoding="utf-8") as f:
                json.dump({"stage": n, "steps": stage["steps"], "finished": True}, f)
            shutil.rmtree(trainer_dir, ignore_errors=True)
        trainer.accelerator.wait_for_everyone()
        emit("saved", stage=n, path=stage_dir)
        del trainer, model
    return 0


def report(split: str, stage: int, step: int, values: list[float]) -> None:
    name = "heldout" if split == "harmful" else "heldout-benign"
    emit(
        "eval",
        stage=stage,
        split=name,
        step=step,
        margin=sum(values) / len(values),
        accuracy=sum(1 for v in values if v > 0) / len(values),
        pairs=len(values),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
