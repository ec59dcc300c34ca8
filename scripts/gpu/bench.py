"""Timing of the fused DPO forward+backward on the GPU, next to PyTorch in the same run.

Shape (issue 3): pairs=8, seqLen=1024, vocab=128256, bf16 logits (4.2 GB), all positions scored and
25% scored (one contiguous segment per sequence, like IPO's divergent segment). Baselines: TRL's
computation in eager PyTorch and the same function under torch.compile, both timed as forward +
backward (loss.backward() into logits.grad). The device-to-device copy of a logits-sized buffer
gives the bandwidth ceiling (bytes read + bytes written).

Medians of CUDA-event timings (triton.testing.do_bench, which clears L2 between runs); the logits
are 4.2 GB, far beyond L2, so no rotation of inputs is needed. Our fused call is timed twice to show
the run-to-run spread. Prints one table; --json writes every number.
"""
import argparse
import ctypes as C
import json
import time

import torch
from triton.testing import do_bench

import ipo_ctypes as I
import reference as R

GB = 1e9


def bench(fn, rep_ms=400):
    return do_bench(fn, warmup=100, rep=rep_ms, return_mode="median")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib")
    ap.add_argument("--json")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=128256)
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    ipo = I.Ipo(args.lib)
    info = ipo.device_info(0)
    P, T, V = args.pairs, args.seq_len, args.vocab
    S = 2 * P
    dev = "cuda"
    torch.manual_seed(int(time.time()))
    print(f"device {info.name.decode()} ({info.multiprocessors} SMs), torch {torch.__version__}, shape P={P} T={T} V={V} bf16", flush=True)

    x = torch.randn(S, T, V, device=dev, dtype=torch.bfloat16).mul_(2)
    logits_bytes = x.numel() * x.element_size()
    labels_all = torch.randint(0, V, (S, T), device=dev, dtype=torch.int32)
    seg = T // 4
    starts = torch.randint(0, T - seg + 1, (S,), device=dev)
    pos = torch.arange(T, device=dev)[None, :]
    in_segment = (pos >= starts[:, None]) & (pos < starts[:, None] + seg)
    labels_quarter = torch.where(in_segment, labels_all, torch.full_like(labels_all, I.IGNORE_INDEX))
    ref = (torch.randn(S) * 5 - 12 * T).float()  # plausible reference sums; only their values matter
    grad = torch.empty_like(x)
    stream = C.c_void_p(torch.cuda.current_stream().cuda_stream)
    rows = {}

    def ours(labels, g, zeroed, want_grad=True):
        lg = I.make_logits(x.data_ptr(), "bfloat16", S, T, V, labels.data_ptr())
        opts = I.make_options(beta=0.1)
        out = I.DpoOutputs(0, 0, None, None, None, None, None, g.data_ptr() if want_grad else None, 1 if zeroed else 0)
        ref_c = ref.contiguous()

        def run():
            ipo.call("ipo_cuda_dpo_loss", C.byref(lg), ref_c.data_ptr(), C.byref(opts), C.byref(out), stream)
        return run, out

    def seq_only(labels):
        lg = I.make_logits(x.data_ptr(), "bfloat16", S, T, V, labels.data_ptr())
        out = torch.empty(S)

        def run():
            ipo.call("ipo_cuda_sequence_logprobs", C.byref(lg), out.data_ptr(), stream)
        return run

    # -- ceiling: device-to-device copy of a logits-sized buffer ----------------------------------
    copy_ms = bench(lambda: grad.copy_(x))
    copy_bw = 2 * logits_bytes / (copy_ms * 1e-3) / GB
    print(f"copy {copy_ms:.3f} ms = {copy_bw:.0f} GB/s (read + write)", flush=True)

    # -- sanity at full size: our loss and gradient against TRL eager ------------------------------
    ref_c, ref_r = ref[:P].to(dev), ref[P:].to(dev)
    xg = x.detach().requires_grad_(True)
    loss_eager = R.trl_dpo_loss(xg, labels_quarter, ref_c, ref_r, 0.1)
    loss_eager.backward()
    run, out = ours(labels_quarter, grad, False)
    grad.fill_(float("nan"))
    run()
    torch.cuda.synchronize()
    g_err = (torch.linalg.vector_norm((grad.float() - xg.grad.float())) / torch.linalg.vector_norm(xg.grad.float())).item()
    print(f"full-size check (25% scored): loss ours {out.loss:.6f} vs eager {loss_eager.item():.6f}; "
          f"||g - g_eager|| / ||g_eager|| = {g_err:.2e}", flush=True)
    del xg, loss_eager
    torch.cuda.empty_cache()

    # -- ours ---------------------------------------------------------------------------------------
    for name, labels in (("all", labels_all), ("25%", labels_quarter)):
        run, _ = ours(labels, grad, False)
        rows[f"ipo fused fwd+bwd, {name} scored"] = [bench(run), bench(run)]
    zeroed_grad = torch.zeros_like(x)
    run, _ = ours(labels_quarter, zeroed_grad, True)
    rows["ipo fused fwd+bwd, 25% scored, grad pre-zeroed"] = [bench(run), bench(run)]
    del zeroed_grad
    rows["ipo sequenceLogprobs (fwd only), all scored"] = [bench(seq_only(labels_all))]
    torch.cuda.empty_cache()

    # -- PyTorch: TRL's computation, eager and compiled ----------------------------------------------
    def torch_step(fn, labels):
        xt = x.detach().requires_grad_(True)

        def run():
            xt.grad = None
            loss = fn(xt, labels, ref_c, ref_r, 0.1)
            loss.backward()
        return run

    for name, labels in (("all", labels_all), ("25%", labels_quarter)):
        rows[f"PyTorch eager (TRL), {name} scored"] = [bench(torch_step(R.trl_dpo_loss, labels), rep_ms=1000)]
        torch.cuda.empty_cache()
    if not args.no_compile:
        compiled = torch.compile(R.trl_dpo_loss)
        t0 = time.time()
        try:
            for name, labels in (("all", labels_all), ("25%", labels_quarter)):
                step = torch_step(compiled, labels)
                step()
                torch.cuda.synchronize()
                rows[f"torch.compile (TRL), {name} scored"] = [bench(step, rep_ms=1000)]
                torch.cuda.empty_cache()
            print(f"torch.compile warm-up + timing took {time.time() - t0:.0f} s", flush=True)
        except Exception as e:  # report, do not hide the rest of the table
            print(f"torch.compile failed: {type(e).__name__}: {e}", flush=True)

    # -- the table ----------------------------------------------------------------------------------
    floor_bytes = 2 * logits_bytes  # one read of the logits + one write of the gradient
    n_all, n_q = S * T, int((labels_quarter != I.IGNORE_INDEX).sum().item())
    row_bytes = V * 2
    traffic = {  # what our design moves: 3 passes over scored rows, zero fill of the others
        "ipo fused fwd+bwd, all scored": 3 * n_all * row_bytes,
        "ipo fused fwd+bwd, 25% scored": 3 * n_q * row_bytes + (n_all - n_q) * row_bytes,
        "ipo fused fwd+bwd, 25% scored, grad pre-zeroed": 3 * n_q * row_bytes,
        "ipo sequenceLogprobs (fwd only), all scored": n_all * row_bytes,
    }
    def best(prefix, scored):
        k = f"{prefix}, {scored} scored"
        return min(rows[k]) if k in rows else None

    print("\n| variant | ms (median) | GB/s as 1 read + 1 write of the logits | fraction of copy BW | our traffic GB/s (share of copy) | x eager | x compile |")
    print("|---|---|---|---|---|---|---|")
    print(f"| device-to-device copy ({logits_bytes / GB:.2f} GB) | {copy_ms:.3f} | {copy_bw:.0f} | 1.00 | | | |")
    results = {"copy_ms": copy_ms, "copy_GBps": copy_bw, "logits_bytes": logits_bytes, "full_size_grad_rel_err_vs_eager": g_err, "rows": {}}
    for name, times in rows.items():
        ms = min(times)
        bw = floor_bytes / (ms * 1e-3) / GB
        scored = "25%" if "25%" in name else "all"
        e, c = best("PyTorch eager (TRL)", scored), best("torch.compile (TRL)", scored)
        t = traffic.get(name)
        tcol = f"{t / (ms * 1e-3) / GB:.0f} ({t / (ms * 1e-3) / GB / copy_bw:.2f})" if t else ""
        spread = f" ({'/'.join(f'{v:.3f}' for v in times)})" if len(times) > 1 else ""
        print(f"| {name} | {ms:.3f}{spread} | {bw:.0f} | {bw / copy_bw:.2f} | {tcol} | {e / ms if e else float('nan'):.2f} | {c / ms if c else float('nan'):.2f} |")
        results["rows"][name] = {"ms": times, "GBps_floor": bw, "fraction_of_copy": bw / copy_bw, "traffic_bytes": t}
    a, q, z = best("ipo fused fwd+bwd", "all"), best("ipo fused fwd+bwd", "25%"), rows.get("ipo fused fwd+bwd, 25% scored, grad pre-zeroed")
    print(f"\n25% scored / all scored: {q / a:.2f} (zero fill of unscored rows), {min(z) / a:.2f} (grad pre-zeroed)")
    results["quarter_over_all"] = q / a
    results["quarter_prezeroed_over_all"] = min(z) / a
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
