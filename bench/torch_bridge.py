"""The DPO loss alone, forward + backward on a leaf logits tensor: ipo_node.dpo_loss (the fused kernel
through the PyTorch bridge) against the same loss in PyTorch eager and under torch.compile, measured in
one process, interleaved round by round, ratios printed against eager.

  python bench/torch_bridge.py [--pairs 2 --seq-len 512 --vocab 128256 --dtype float32 --threads 2
                                --rounds 5 --scored 1.0 --no-compile --json out.json]

PyTorch's version is TRL 1.13's: selective_log_softmax (gather - logsumexp per sequence for float32, a
per-sequence log_softmax for 16-bit), masked sum, -logsigmoid(beta * margin) mean, backward. The
bridge's gradient is written by the kernel during the forward call; its backward returns it.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
import ipo_node  # noqa: E402


def selective_log_softmax(logits, index):
    """TRL 1.13's trl.trainer.utils.selective_log_softmax (copied so the bench runs without TRL)."""
    if logits.dtype in (torch.float32, torch.float64):
        selected = torch.gather(logits, dim=-1, index=index.unsqueeze(-1)).squeeze(-1)
        lse = torch.stack([torch.logsumexp(lg, dim=-1) for lg in logits])
        return selected - lse
    rows = []
    for row_logits, row_labels in zip(logits, index):
        row_logps = F.log_softmax(row_logits, dim=-1)
        rows.append(row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1))
    return torch.stack(rows)


def torch_dpo_loss(logits, labels, ref_logps, beta):
    mask = labels != -100
    per_token = selective_log_softmax(logits, torch.where(mask, labels, 0)) * mask
    logps = per_token.sum(-1)
    chosen, rejected = logps.chunk(2)
    ref_c, ref_r = ref_logps.chunk(2)
    return -F.logsigmoid(beta * ((chosen - ref_c) - (rejected - ref_r))).mean()


def bridge_loss(logits, labels, ref_logps, beta):
    return ipo_node.dpo_loss(logits, labels, ref_logps, beta=beta).loss


def step(fn, logits, labels, ref, beta):
    x = logits.detach().requires_grad_(True)
    start = time.perf_counter()
    loss = fn(x, labels, ref, beta)
    loss.backward()
    elapsed = time.perf_counter() - start
    return elapsed * 1000, loss.item(), x.grad


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=2)
    p.add_argument("--seq-len", type=int, default=512)
    p.add_argument("--vocab", type=int, default=128256)
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--scored", type=float, default=1.0, help="share of positions scored (the rest -100)")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--json")
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    S, T, V = 2 * args.pairs, args.seq_len, args.vocab
    dtype = getattr(torch, args.dtype)
    logits = (torch.randn(S, T, V) * 2).to(dtype)
    labels = torch.randint(0, V, (S, T))
    labels[:, int(T * args.scored):] = -100
    ref = -torch.full((S,), float(T)) * (torch.log(torch.tensor(float(V))) + 2) + torch.rand(S) * 4 - 2
    beta = 0.1
    gb = logits.numel() * logits.element_size() / 1e9
    print(f"shape {S}x{T}x{V} {args.dtype} ({gb:.2f} GB), {args.threads} threads, torch {torch.__version__}, "
          f"{ipo_node.library_status()[1]}", flush=True)

    variants = {"ipo_node.dpo_loss": bridge_loss, "torch eager": torch_dpo_loss}
    if not args.no_compile:
        variants["torch.compile"] = torch.compile(torch_dpo_loss, dynamic=False)
        start = time.perf_counter()
        step(variants["torch.compile"], logits, labels, ref, beta)
        print(f"torch.compile warm-up (compilation) {time.perf_counter() - start:.1f} s", flush=True)
    losses, times = {}, {name: [] for name in variants}
    for name, fn in variants.items():  # warm-up: allocator, thread pools
        _, losses[name], g = step(fn, logits, labels, ref, beta)
        del g
    for r in range(args.rounds):
        for name, fn in variants.items():
            ms, _, g = step(fn, logits, labels, ref, beta)
            del g
            times[name].append(ms)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{n} {t[-1]:.0f} ms" for n, t in times.items()), flush=True)

    base = statistics.median(times["torch eager"])
    print(f"\n{'variant':<20} {'median ms':>10} {'min ms':>8} {'logits GB/s':>12} {'vs eager':>9}  loss")
    rows = []
    for name, t in times.items():
        med = statistics.median(t)
        rows.append({"variant": name, "medianMs": med, "minMs": min(t), "timesMs": t, "loss": losses[name],
                     "speedupVsEager": base / med})
        print(f"{name:<20} {med:>10.0f} {min(t):>8.0f} {gb / (med / 1000):>12.1f} {base / med:>8.2f}x  {losses[name]:.6f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": [S, T, V], "dtype": args.dtype, "threads": args.threads, "results": rows}, f)


if __name__ == "__main__":
    main()
