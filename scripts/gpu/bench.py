"""Timing of the fused DPO forward+backward on the GPU, next to PyTorch in the same run.

Shape (issue 3): pairs=8, seqLen=1024, bf16 logits, vocab 128256 (Llama 3; 4.2 GB of logits), all
positions scored and 25% scored (one contiguous segment per sequence, like IPO's divergent segment).
Then the vocabularies whose bf16 rows are not a multiple of 16 bytes, each next to its aligned
neighbour in the same run: 151669 (Qwen3) vs 151672, 32001 vs 32008. Baselines: TRL's computation in
eager PyTorch and under torch.compile, both timed as forward + backward (loss.backward() into
logits.grad); the device-to-device copy of a logits-sized buffer gives the bandwidth ceiling.

Medians of CUDA-event timings (triton.testing.do_bench, which clears L2 between runs); the logits are
GBs, far beyond L2. Every number is printed as one line and appended to --jsonl the moment it is
measured, so a run cut short keeps everything measured before the cut.

  --part main     copy, full-size check against eager, ours (all / 25% / 25% pre-zeroed / log-probs
                  only), the odd vocabularies, eager; then the table            (~60-90 s on an H200)
  --part compile  torch.compile of TRL's computation, with ours re-timed for the ratio; run last, in
                  its own process under its own time limit (gpu-check.sh: timeout)  (~60-120 s)
"""
import argparse
import ctypes as C
import json
import time
import traceback

import torch
from triton.testing import do_bench

import ipo_ctypes as I
import reference as R

GB = 1e9


class Log:
    """Prints each measurement as one line and appends it to the JSONL file at once."""

    def __init__(self, path, part):
        self.file = open(path, "a") if path else None
        self.part = part
        self.rows = {}

    def __call__(self, case, **fields):
        record = {"part": self.part, "case": case, **fields}
        if "ms" in fields:
            self.rows[case] = record
        if self.file:
            self.file.write(json.dumps(record) + "\n")
            self.file.flush()
        shown = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items() if k != "traceback")
        print(f"bench {case}: {shown}", flush=True)

    def error(self, case, e):
        message = " | ".join(str(e).splitlines()) or "(no message)"
        print(f"ERROR bench {case}: {type(e).__name__}: {message}", flush=True)
        print("".join("    " + line for line in traceback.format_exc().splitlines(True)), flush=True)
        if self.file:
            self.file.write(json.dumps({"part": self.part, "case": case, "error": f"{type(e).__name__}: {message}",
                                        "traceback": traceback.format_exc()}) + "\n")
            self.file.flush()


def bench(fn, rep_ms=400):
    return do_bench(fn, warmup=100, rep=rep_ms, return_mode="median")


class Problem:
    """bf16 logits [2P, T, V] on the GPU, labels all scored and 25% scored, a gradient buffer."""

    def __init__(self, ipo, P, T, V):
        self.ipo, self.P, self.T, self.V, self.S = ipo, P, T, V, 2 * P
        dev = "cuda"
        self.x = torch.randn(self.S, T, V, device=dev, dtype=torch.bfloat16).mul_(2)
        self.logits_bytes = self.x.numel() * self.x.element_size()
        self.labels_all = torch.randint(0, V, (self.S, T), device=dev, dtype=torch.int32)
        seg = T // 4
        starts = torch.randint(0, T - seg + 1, (self.S,), device=dev)
        pos = torch.arange(T, device=dev)[None, :]
        in_segment = (pos >= starts[:, None]) & (pos < starts[:, None] + seg)
        self.labels_quarter = torch.where(in_segment, self.labels_all, torch.full_like(self.labels_all, I.IGNORE_INDEX))
        self.ref = (torch.randn(self.S) * 5 - 12 * T).float().contiguous()  # plausible reference sums
        self.grad = torch.empty_like(self.x)
        self.stream = C.c_void_p(torch.cuda.current_stream().cuda_stream)

    def labels(self, scored):
        return self.labels_all if scored == "all" else self.labels_quarter

    def ours(self, scored, grad=None, zeroed=False, want_grad=True):
        g = self.grad if grad is None else grad
        lg = I.make_logits(self.x.data_ptr(), "bfloat16", self.S, self.T, self.V, self.labels(scored).data_ptr())
        opts = I.make_options(beta=0.1)
        out = I.DpoOutputs(0, 0, None, None, None, None, None, g.data_ptr() if want_grad else None, 1 if zeroed else 0)

        def run():
            self.ipo.call("ipo_cuda_dpo_loss", C.byref(lg), self.ref.data_ptr(), C.byref(opts), C.byref(out), self.stream)
        return run, out

    def seq_only(self, scored):
        lg = I.make_logits(self.x.data_ptr(), "bfloat16", self.S, self.T, self.V, self.labels(scored).data_ptr())
        out = torch.empty(self.S)

        def run():
            self.ipo.call("ipo_cuda_sequence_logprobs", C.byref(lg), out.data_ptr(), self.stream)
        return run

    def torch_step(self, fn, scored):
        xt = self.x.detach().requires_grad_(True)
        labels = self.labels(scored)
        ref_c, ref_r = self.ref[: self.P].cuda(), self.ref[self.P:].cuda()

        def run():
            xt.grad = None
            loss = fn(xt, labels, ref_c, ref_r, 0.1)
            loss.backward()
        return run

    def traffic(self, case):
        """Bytes our design moves: 3 passes over scored rows, one zero-fill write of the others."""
        n_all = self.S * self.T
        n_q = int((self.labels_quarter != I.IGNORE_INDEX).sum().item())
        row = self.V * 2
        return {"all": 3 * n_all * row, "25%": 3 * n_q * row + (n_all - n_q) * row, "25% pre-zeroed": 3 * n_q * row,
                "logprobs": n_all * row}[case]

    def free(self):
        del self.x, self.grad, self.labels_all, self.labels_quarter
        torch.cuda.empty_cache()


def timed(log, case, fn, problem, copy_bw, traffic=None, rep_ms=400, repeats=1):
    """Times fn (median of `repeats` do_bench medians), logs ms, GB/s as 1 read + 1 write of the
    logits, the share of copy bandwidth, and our own traffic's GB/s when given."""
    try:
        times = [bench(fn, rep_ms) for _ in range(repeats)]
    except Exception as e:  # noqa: BLE001 - one broken case must not cost the others
        log.error(case, e)
        return None
    ms = min(times)
    floor_bw = 2 * problem.logits_bytes / (ms * 1e-3) / GB
    fields = {"ms": ms, "ms_runs": "/".join(f"{t:.3f}" for t in times), "GBps_1r1w": floor_bw}
    if copy_bw:
        fields["share_of_copy"] = floor_bw / copy_bw
    if traffic:
        fields["traffic_GBps"] = traffic / (ms * 1e-3) / GB
        if copy_bw:
            fields["traffic_share_of_copy"] = fields["traffic_GBps"] / copy_bw
    log(case, V=problem.V, **fields)
    return ms


def part_main(ipo, args, log):
    P, T = args.pairs, args.seq_len
    p = Problem(ipo, P, T, args.vocab)
    # -- ceiling: device-to-device copy of a logits-sized buffer ----------------------------------
    copy_ms = bench(lambda: p.grad.copy_(p.x))
    copy_bw = 2 * p.logits_bytes / (copy_ms * 1e-3) / GB
    log("copy", V=p.V, ms=copy_ms, GBps_1r1w=copy_bw, logits_GB=p.logits_bytes / GB)

    # -- sanity at full size: our loss and gradient against TRL eager ------------------------------
    try:
        xg = p.x.detach().requires_grad_(True)
        loss_eager = R.trl_dpo_loss(xg, p.labels_quarter, p.ref[:P].cuda(), p.ref[P:].cuda(), 0.1)
        loss_eager.backward()
        run, out = p.ours("25%")
        p.grad.fill_(float("nan"))
        run()
        torch.cuda.synchronize()
        g_err = (torch.linalg.vector_norm(p.grad.float() - xg.grad.float()) / torch.linalg.vector_norm(xg.grad.float())).item()
        # Informational: eager TRL computes log_softmax in bf16, so it is itself off by ~1e-2 (parity.py is the exact check).
        log("full-size check vs eager, 25% scored", V=p.V, loss_ours=out.loss, loss_eager=loss_eager.item(), grad_rel_err=g_err)
        del xg, loss_eager
        torch.cuda.empty_cache()
    except Exception as e:  # noqa: BLE001
        log.error("full-size check vs eager", e)

    # -- ours at the main shape -----------------------------------------------------------------------
    ours = {}
    for scored in ("all", "25%"):
        ours[scored] = timed(log, f"ipo fused fwd+bwd, {scored} scored", p.ours(scored)[0], p, copy_bw, p.traffic(scored), repeats=2)
    try:
        zeroed_grad = torch.zeros_like(p.x)
        ours["25% pre-zeroed"] = timed(log, "ipo fused fwd+bwd, 25% scored, grad pre-zeroed", p.ours("25%", zeroed_grad, True)[0], p,
                                       copy_bw, p.traffic("25% pre-zeroed"), repeats=2)
        del zeroed_grad
        torch.cuda.empty_cache()
    except Exception as e:  # noqa: BLE001
        log.error("ipo fused fwd+bwd, 25% scored, grad pre-zeroed", e)
    timed(log, "ipo sequenceLogprobs (fwd only), all scored", p.seq_only("all"), p, copy_bw, p.traffic("logprobs"))
    if ours.get("all") and ours.get("25%"):
        log("ratio 25% / all scored", value=ours["25%"] / ours["all"],
            prezeroed=(ours["25% pre-zeroed"] / ours["all"]) if ours.get("25% pre-zeroed") else None)

    # -- PyTorch eager (TRL), same problem ------------------------------------------------------------
    for scored in ("all", "25%"):
        ms = timed(log, f"PyTorch eager (TRL), {scored} scored", p.torch_step(R.trl_dpo_loss, scored), p, copy_bw, rep_ms=1000)
        if ms and ours.get(scored):
            log(f"ours vs eager, {scored} scored", speedup=ms / ours[scored])
        torch.cuda.empty_cache()
    p.free()

    # -- rows that are not a multiple of 16 bytes, each next to its aligned neighbour ---------------
    for odd, aligned in args.odd_vocabs:
        results = {}
        for V in (odd, aligned):
            try:
                q = Problem(ipo, P, T, V)
            except Exception as e:  # noqa: BLE001 - e.g. out of memory on a smaller card
                log.error(f"V={V} setup", e)
                continue
            results[V] = timed(log, f"ipo fused fwd+bwd, all scored, V={V} ({'rows not 16-byte multiples' if V == odd else 'aligned rows'})",
                               q.ours("all")[0], q, copy_bw, q.traffic("all"), repeats=2)
            timed(log, f"ipo sequenceLogprobs, all scored, V={V}", q.seq_only("all"), q, copy_bw, q.traffic("logprobs"))
            q.free()
        if results.get(odd) and results.get(aligned):
            # per-element cost, so the 3-element difference in V does not count
            log(f"odd-row cost V={odd} vs V={aligned}", per_element_ratio=(results[odd] / odd) / (results[aligned] / aligned))
    return copy_bw


def part_compile(ipo, args, log):
    p = Problem(ipo, args.pairs, args.seq_len, args.vocab)
    copy_ms = bench(lambda: p.grad.copy_(p.x))
    copy_bw = 2 * p.logits_bytes / (copy_ms * 1e-3) / GB
    ours = timed(log, "ipo fused fwd+bwd, all scored (baseline for compile)", p.ours("all")[0], p, copy_bw, p.traffic("all"))
    compiled = torch.compile(R.trl_dpo_loss)
    for scored in ("all", "25%"):
        t0 = time.time()
        try:
            step = p.torch_step(compiled, scored)
            step()
            torch.cuda.synchronize()
            log(f"torch.compile warm-up, {scored} scored", seconds=time.time() - t0)
        except Exception as e:  # noqa: BLE001
            log.error(f"torch.compile, {scored} scored", e)
            continue
        ms = timed(log, f"torch.compile (TRL), {scored} scored", step, p, copy_bw, rep_ms=1000)
        if ms and ours and scored == "all":
            log("ours vs torch.compile, all scored", speedup=ms / ours)
        torch.cuda.empty_cache()


def table(log):
    print("\n| case | V | ms | GB/s (1 read + 1 write) | share of copy | our traffic GB/s (share) |")
    print("|---|---|---|---|---|---|")
    for case, r in log.rows.items():
        t = f"{r['traffic_GBps']:.0f} ({r['traffic_share_of_copy']:.2f})" if "traffic_GBps" in r and "traffic_share_of_copy" in r else ""
        share = f"{r['share_of_copy']:.2f}" if "share_of_copy" in r else ""
        gbps = f"{r['GBps_1r1w']:.0f}" if "GBps_1r1w" in r else ""
        print(f"| {case} | {r.get('V', '')} | {r['ms']:.3f} | {gbps} | {share} | {t} |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib")
    ap.add_argument("--jsonl", help="append each measurement the moment it is taken")
    ap.add_argument("--part", choices=["main", "compile"], default="main")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--vocab", type=int, default=128256)
    ap.add_argument("--odd-vocabs", default="151669:151672,32001:32008",
                    help="odd:aligned pairs of vocabularies, timed side by side (bf16 rows of odd ones are not 16-byte multiples)")
    args = ap.parse_args()
    args.odd_vocabs = [tuple(int(v) for v in pair.split(":")) for pair in args.odd_vocabs.split(",") if pair]
    ipo = I.Ipo(args.lib)
    try:
        info = ipo.device_info(0)
    except I.IpoError as e:
        print(f"ERROR device: {e} (library {ipo.path})", flush=True)
        raise SystemExit(2)
    torch.manual_seed(int(time.time()))
    log = Log(args.jsonl, args.part)
    log("device", name=info.name.decode(), sms=info.multiprocessors, torch=torch.__version__,
        shape=f"P={args.pairs} T={args.seq_len} V={args.vocab} bf16")
    t0 = time.time()
    if args.part == "main":
        part_main(ipo, args, log)
    else:
        part_compile(ipo, args, log)
    log(f"part {args.part} done", seconds=time.time() - t0)
    table(log)


if __name__ == "__main__":
    main()
