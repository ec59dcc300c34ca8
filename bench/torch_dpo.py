"""PyTorch CPU eager baseline for the ipo-node benchmark: the DPO loss the way TRL computes it.

Two variants, both forward + backward on a leaf logits tensor [2*pairs, seq_len, vocab]:
  log_softmax  TRL's classic get_batch_logps: gather(log_softmax(logits), labels), masked sum
  selective    TRL's newer selective_log_softmax: gather(logits) - logsumexp(row) (float32), or a
               per-row log_softmax loop (bfloat16), then the same masked sum
then the sigmoid DPO loss, mean over pairs, and loss.backward() (the gradient over the logits is
what flows into the model). Prints one JSON object on stdout; the Node harness parses it.

Usage: python3 torch_dpo.py --pairs 2 --seq-len 512 --vocab 128256 --dtype float32 --threads 2
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def batch_logps_log_softmax(logits, labels, mask):
    per_token = torch.gather(logits.log_softmax(-1), dim=2, index=labels.unsqueeze(2)).squeeze(2)
    return (per_token * mask).sum(-1)


def batch_logps_selective(logits, labels, mask):
    if logits.dtype in (torch.float32, torch.float64):
        selected = torch.gather(logits, dim=-1, index=labels.unsqueeze(-1)).squeeze(-1)
        # TRL loops over sequences to bound peak memory.
        lse = torch.stack([torch.logsumexp(row, dim=-1) for row in logits])
        per_token = selected - lse
    else:
        rows = []
        for row_logits, row_labels in zip(logits, labels):
            row_logps = F.log_softmax(row_logits, dim=-1)
            rows.append(row_logps.gather(dim=-1, index=row_labels.unsqueeze(-1)).squeeze(-1))
        per_token = torch.stack(rows)
    return (per_token * mask).sum(-1)


VARIANTS = {"log_softmax": batch_logps_log_softmax, "selective": batch_logps_selective}


def dpo_step(variant, logits, labels, mask, ref_logps, pairs, beta):
    x = logits.detach().requires_grad_(True)
    logps = VARIANTS[variant](x, labels, mask)
    chosen, rejected = logps[:pairs], logps[pairs:]
    h = beta * ((chosen - ref_logps[:pairs]) - (rejected - ref_logps[pairs:]))
    loss = -F.logsigmoid(h.float()).mean()
    loss.backward()
    return loss.item(), x.grad


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, required=True)
    parser.add_argument("--seq-len", type=int, required=True)
    parser.add_argument("--vocab", type=int, required=True)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--variants", default="log_softmax,selective")
    parser.add_argument("--beta", type=float, default=0.1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sequences = 2 * args.pairs
    dtype = torch.float32 if args.dtype == "float32" else torch.bfloat16
    # Same distribution as the Node side: about N(0, 2^2), all positions scored.
    logits = (torch.randn(sequences, args.seq_len, args.vocab) * 2).to(dtype)
    labels = torch.randint(0, args.vocab, (sequences, args.seq_len))
    mask = torch.ones(sequences, args.seq_len, dtype=dtype)
    ref_logps = -(torch.full((sequences,), float(args.seq_len)) * (torch.log(torch.tensor(float(args.vocab))) + 2))
    ref_logps = ref_logps + torch.rand(sequences) * 4 - 2

    results = []
    for variant in args.variants.split(","):
        dpo_step(variant, logits, labels, mask, ref_logps, args.pairs, args.beta)  # warm-up
        times = []
        loss = float("nan")
        for _ in range(args.iterations):
            start = time.perf_counter()
            loss, grad = dpo_step(variant, logits, labels, mask, ref_logps, args.pairs, args.beta)
            times.append((time.perf_counter() - start) * 1000)
            del grad
        results.append({"variant": variant, "timesMs": times, "medianMs": statistics.median(times), "loss": loss})

    json.dump({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "results": results,
        # Peak resident memory of this process (Linux reports ru_maxrss in KiB).
        "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
