"""Parity of the CUDA path against the float64 PyTorch reference and the CPU path of the same library.

Every case draws fresh random inputs, poisons every output (NaN bit patterns) before the call and
checks that every element was written; unscored gradient rows must be exactly 0. Tolerances (issue
2): loss and log-probs 1e-5 relative (absolute below magnitude 1 for log-probs, 1e-2 for the loss); gradient ||g - ref|| / ||ref|| <= 1e-5 (float32 logits),
<= 1e-2 (bf16, f16). Bad inputs must fail with the right status, argument, sequence and position,
and leave the gradient buffer untouched.

  python3 scripts/gpu/parity.py [--lib path] [--group quick|vocab|all] [--jsonl out.jsonl] [--json out.json] [--cpu-only]

Groups, cheapest first (scripts/gpu-check.sh runs each in its own process, so that a device fault in
one, which poisons the CUDA context for the rest of that process, costs only that group):
  quick  small and odd shapes in every dtype, loss type and gradient mode, misaligned bases, the
         gathers, and the bad inputs (each refusal must leave the gradient buffer untouched)
  vocab  the vocabularies of real models (32001, 128256, 151669) and their odd neighbours, in every
         dtype: rows whose byte length is not a multiple of 16 take the aligned-body path
Every record is printed as one line ("ok  ..." / "FAIL ..." / "ERROR ...") the moment it is known and
appended to --jsonl at once; an exception inside a case is caught, printed in full, and recorded as
that case's failure, and the next case runs (unless the CUDA context is lost: then the group stops
and says so).

--cpu-only checks the CPU path of the library against the reference (no GPU needed); it is how the
reference and the ctypes plumbing are checked on a machine without one.
"""
import argparse
import ctypes as C
import json
import math
import sys
import time
import traceback

import torch

import ipo_ctypes as I
import reference as R

TORCH_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
POISON_BITS = {"float32": 0x7FC00001, "bfloat16": 0x7FC1, "float16": 0x7E01}  # quiet NaNs
INT_VIEW = {"float32": torch.int32, "bfloat16": torch.int16, "float16": torch.int16}


def rel(a, b, floor=0.0):
    """||a - b|| / max(||b||, floor): relative error, absolute once the reference is below `floor`
    (a log-prob near 0 cannot be relatively exact in float32: x[label] - lse cancels)."""
    a, b = a.double().cpu(), b.double().cpu()
    if not torch.isfinite(a).all():
        return math.inf
    d = torch.linalg.vector_norm(a - b).item()
    n = max(torch.linalg.vector_norm(b).item(), floor)
    return d / n if n > 0 else d


def rel_scalar(a, b, floor=1e-12):
    if not math.isfinite(a):
        return math.inf
    return abs(a - b) / max(abs(b), floor)


def poisoned(shape, dtype, device):
    bits = POISON_BITS[dtype]
    if bits >= 1 << (8 * torch.empty((), dtype=INT_VIEW[dtype]).element_size() - 1):
        bits -= 1 << (8 * torch.empty((), dtype=INT_VIEW[dtype]).element_size())
    return torch.full(shape, bits, dtype=INT_VIEW[dtype], device=device).view(TORCH_DTYPES[dtype])


def offset_copy(x, elements=1):
    """A copy of x whose base address is `elements` elements past an allocation's start: aligned to
    its element size only (what a slice of a larger tensor gives)."""
    flat = torch.empty(x.numel() + elements, dtype=x.dtype, device=x.device)
    flat[elements:] = x.reshape(-1)
    return flat[elements:].view(x.shape)


def make_case(gen, pairs, seq_len, vocab, dtype, scored_share, device, scale=3.0):
    S = 2 * pairs
    x = (torch.randn(S, seq_len, vocab, generator=gen, dtype=torch.float32) * scale).to(TORCH_DTYPES[dtype])
    labels = torch.randint(0, vocab, (S, seq_len), generator=gen, dtype=torch.int32)
    keep = torch.rand(S, seq_len, generator=gen) < scored_share
    keep[torch.arange(S), torch.randint(0, seq_len, (S,), generator=gen)] = True  # every sequence scored
    labels = torch.where(keep, labels, torch.full_like(labels, I.IGNORE_INDEX))
    return x.to(device), labels.to(device)


class DeviceLost(Exception):
    """The CUDA context is unusable (a fault surfaced at a synchronize): nothing more can run here."""


class Runner:
    def __init__(self, ipo, cuda, jsonl=None):
        self.ipo, self.cuda = ipo, cuda
        self.failures, self.records = [], []
        self.jsonl = open(jsonl, "a") if jsonl else None

    def _write(self, record):
        self.records.append(record)
        if self.jsonl:
            self.jsonl.write(json.dumps(record, default=float) + "\n")
            self.jsonl.flush()

    def record(self, name, metrics, limits):
        ok = all(metrics[k] <= limits[k] for k in limits)
        line = " ".join(f"{k}={metrics[k]:.2e}" for k in limits)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {line}", flush=True)
        self._write({"case": name, "ok": ok, **{k: metrics[k] for k in metrics}})
        if not ok:
            self.failures.append(name)

    def expect(self, name, cond, detail=""):
        print(f"{'ok  ' if cond else 'FAIL'} {name} {detail}", flush=True)
        self._write({"case": name, "ok": bool(cond), "detail": detail})
        if not cond:
            self.failures.append(name)

    def guard(self, name, fn, *args, **kwargs):
        """Runs one case; an exception becomes that case's failure, printed in full (one ERROR line
        with the exception, then the traceback indented), and the next case runs. A fault that has
        broken the CUDA context raises DeviceLost instead (the caller stops the group)."""
        try:
            fn(*args, **kwargs)
            return
        except Exception as e:  # noqa: BLE001 - every failure is reported, none hides the others
            message = " | ".join(str(e).splitlines()) or "(no message)"
            print(f"ERROR {name}: {type(e).__name__}: {message}", flush=True)
            print("".join("    " + line for line in traceback.format_exc().splitlines(True)), flush=True)
            self._write({"case": name, "ok": False, "error": f"{type(e).__name__}: {message}", "traceback": traceback.format_exc()})
            self.failures.append(name)
        if self.cuda:
            try:
                torch.cuda.synchronize()
                torch.empty(1, device="cuda").add_(1).item()
            except Exception as e:  # noqa: BLE001
                raise DeviceLost(f"the CUDA context is unusable after '{name}': {type(e).__name__}: {' | '.join(str(e).splitlines())}") from e

    # -- calls into the library ----------------------------------------------------------------
    def logits_struct(self, x, labels, dtype):
        S, T, V = x.shape
        return I.make_logits(x.data_ptr(), dtype, S, T, V, labels.data_ptr())

    def dpo(self, x, labels, ref, dtype, opts, grad, zeroed=False, on_gpu=True):
        S = x.shape[0]
        P = S // 2
        outs = {k: torch.full((P,), float("nan")) for k in ("chosen_logps", "rejected_logps", "chosen_rewards", "rejected_rewards", "margins")}
        o = I.DpoOutputs(float("nan"), float("nan"), *(outs[k].data_ptr() for k in ("chosen_logps", "rejected_logps", "chosen_rewards", "rejected_rewards", "margins")),
                         grad.data_ptr() if grad is not None else None, 1 if zeroed else 0)
        ref_c = ref.float().cpu().contiguous()
        lg = self.logits_struct(x, labels, dtype)
        options = I.make_options(**opts)
        if on_gpu:
            stream = torch.cuda.current_stream().cuda_stream
            err = self.ipo.try_call("ipo_cuda_dpo_loss", C.byref(lg), ref_c.data_ptr(), C.byref(options), C.byref(o), C.c_void_p(stream))
            torch.cuda.synchronize()
        else:
            err = self.ipo.try_call("ipo_dpo_loss", C.byref(lg), ref_c.data_ptr(), C.byref(options), C.byref(o))
        return err, o, outs

    def gather(self, x, labels, dtype, per_token, on_gpu=True):
        S, T, _ = x.shape
        out = torch.full((S * T if per_token else S,), float("nan"))
        lg = self.logits_struct(x, labels, dtype)
        if on_gpu:
            fn = "ipo_cuda_token_logprobs" if per_token else "ipo_cuda_sequence_logprobs"
            err = self.ipo.try_call(fn, C.byref(lg), out.data_ptr(), C.c_void_p(torch.cuda.current_stream().cuda_stream))
        else:
            fn = "ipo_token_logprobs" if per_token else "ipo_sequence_logprobs"
            err = self.ipo.try_call(fn, C.byref(lg), out.data_ptr(), 0)
        return err, out

    # -- one parity case -------------------------------------------------------------------------
    def parity_case(self, gen, pairs, T, V, dtype, share, opts, grad_mode, misaligned=False):
        dev = "cuda" if self.cuda else "cpu"
        x, labels = make_case(gen, pairs, T, V, dtype, share, dev)
        if misaligned:  # a base address that is only element-aligned: every row starts off a 16-byte boundary
            x = offset_copy(x)
        with torch.no_grad():
            seq0 = R.token_logps(x, labels.long()).sum(-1).cpu()
        ref = (seq0 + torch.randn(seq0.shape, generator=gen, dtype=torch.float64) * 2.0).float()
        want = R.dpo(x, labels.long(), ref, **{k: v for k, v in opts.items() if k != "threads"})
        name = f"{dtype} P={pairs} T={T} V={V} share={share} {opts.get('loss_type')} eps={opts.get('label_smoothing', 0)} sft={opts.get('sft_weight', 0)} grad={grad_mode}{' misaligned' if misaligned else ''}"
        grad_tol = 1e-5 if dtype == "float32" else 1e-2
        unscored = (labels == I.IGNORE_INDEX)

        targets = [("cuda", True)] if self.cuda else []
        targets.append(("cpu", False))
        results = {}
        for target, on_gpu in targets:
            xin = x if on_gpu else x.cpu()
            lin = labels if on_gpu else labels.cpu()
            grad = None
            if grad_mode == "inplace":
                xin = offset_copy(xin) if misaligned else xin.clone()  # keep the base's offset mod 16
                grad = xin
            elif grad_mode == "buffer":
                grad = poisoned(x.shape, dtype, xin.device)
            elif grad_mode == "zeroed":
                grad = torch.zeros_like(xin)
                grad[~unscored.to(xin.device)] = poisoned((int((~unscored).sum()), V), dtype, xin.device)
            err, o, outs = self.dpo(xin, lin, ref, dtype, opts, grad, zeroed=grad_mode == "zeroed", on_gpu=on_gpu)
            if err.status != 0:
                self.expect(f"{target} {name}", False, f"status {err.status}: {err.message.decode()}")
                continue
            m = {"loss": rel_scalar(o.loss, want["loss"].item(), 1e-2)}
            for k in ("chosen_logps", "rejected_logps", "chosen_rewards", "rejected_rewards", "margins"):
                m[k] = rel(outs[k], want[k], 1.0 if k.endswith("logps") else 1e-2)
            m["accuracy"] = abs(o.accuracy - want["accuracy"].item())
            near_zero = (want["margins"].abs() < 1e-4).any().item()
            limits = {"loss": 1e-5, "chosen_logps": 1e-5, "rejected_logps": 1e-5, "margins": 1e-4,
                      "accuracy": 1.0 if near_zero else 0.0}
            if grad is not None:
                g = grad.float()
                m["grad"] = rel(g, want["grad"])
                m["grad_unscored_nonzero"] = float((g[unscored.to(g.device)] != 0).sum().item())
                m["grad_nonfinite"] = float((~torch.isfinite(g)).sum().item())
                limits.update({"grad": grad_tol, "grad_unscored_nonzero": 0.0, "grad_nonfinite": 0.0})
                results[target] = g.cpu()
            self.record(f"{target} {name}", m, limits)
        if "cuda" in results and "cpu" in results:
            self.record(f"cuda-vs-cpu {name}", {"grad": rel(results["cuda"], results["cpu"])}, {"grad": grad_tol})

    def gather_case(self, gen, pairs, T, V, dtype, share):
        dev = "cuda" if self.cuda else "cpu"
        x, labels = make_case(gen, pairs, T, V, dtype, share, dev)
        labels[0, :] = I.IGNORE_INDEX  # a sequence with nothing scored: sum 0, allowed here
        want_tok = R.token_logps(x, labels.long()).cpu()
        targets = [("cuda", True)] if self.cuda else []
        targets.append(("cpu", False))
        for target, on_gpu in targets:
            xin, lin = (x, labels) if on_gpu else (x.cpu(), labels.cpu())
            e1, tok = self.gather(xin, lin, dtype, True, on_gpu)
            e2, seq = self.gather(xin, lin, dtype, False, on_gpu)
            if e1.status or e2.status:
                self.expect(f"{target} gather {dtype} V={V}", False, (e1.message or e2.message).decode())
                continue
            m = {"token_logps": rel(tok, want_tok.reshape(-1), 1.0), "seq_logps": rel(seq, want_tok.sum(-1), 1.0),
                 "unscored_nonzero": float((tok.reshape(labels.shape)[(labels == I.IGNORE_INDEX).cpu()] != 0).sum().item())}
            self.record(f"{target} gather {dtype} P={pairs} T={T} V={V} share={share}", m,
                        {"token_logps": 1e-5, "seq_logps": 1e-5, "unscored_nonzero": 0.0})

    # -- bad inputs ------------------------------------------------------------------------------
    def error_cases(self, gen, dtype):
        if not self.cuda:
            return
        P, T, V = 2, 6, 1003
        opts = {"beta": 0.1, "loss_type": "sigmoid"}

        def run(x, labels, ref=None, o=None, grad="poison"):
            ref = ref if ref is not None else torch.zeros(2 * P)
            g = poisoned(x.shape, dtype, "cuda") if grad == "poison" else grad
            before = g.clone() if g is not None else None
            err, _, _ = self.dpo(x, labels, ref, dtype, o or opts, g)
            untouched = before is None or torch.equal(before.view(INT_VIEW[dtype]), g.view(INT_VIEW[dtype]))
            return err, untouched

        x, labels = make_case(gen, P, T, V, dtype, 1.0, "cuda")
        bad = labels.clone()
        bad[1, 2] = V
        err, untouched = run(x, bad)
        self.expect(f"{dtype} label == vocab", err.status == 2 and err.argument == b"labels" and (err.sequence, err.position) == (1, 2) and untouched,
                    err.message.decode())
        bad = labels.clone()
        bad[3, 5] = -5
        err, untouched = run(x, bad)
        self.expect(f"{dtype} label -5", err.status == 2 and (err.sequence, err.position) == (3, 5) and untouched, err.message.decode())
        for value in (float("nan"), float("inf"), float("-inf")):
            y = x.clone()
            y[2, 4, int(torch.randint(0, V, (1,), generator=gen))] = value
            y[3, 1, 7] = value  # a later row too: the first one must be reported
            err, untouched = run(y, labels)
            self.expect(f"{dtype} {value} in a scored row", err.status == 3 and err.argument == b"logits" and (err.sequence, err.position) == (2, 4) and untouched,
                        err.message.decode())
        y = x.clone()
        l2 = labels.clone()
        l2[1, 3] = I.IGNORE_INDEX
        y[1, 3, 5] = float("nan")
        err, _ = run(y, l2)
        self.expect(f"{dtype} NaN in an unscored row is ignored", err.status == 0, err.message.decode())
        l3 = labels.clone()
        l3[2, :] = I.IGNORE_INDEX
        err, untouched = run(x, l3)
        self.expect(f"{dtype} sequence without scored token", err.status == 2 and err.argument == b"labels" and err.sequence == 2 and untouched, err.message.decode())
        err, untouched = run(x, labels, o={"beta": 0.0})
        self.expect(f"{dtype} beta 0", err.status == 2 and err.argument == b"beta" and untouched, err.message.decode())
        err, _ = run(x.cpu(), labels)
        self.expect(f"{dtype} host logits", err.status == 1 and err.argument == b"logits", err.message.decode())
        err, _ = run(x, labels, grad=poisoned(x.shape, dtype, "cpu"))
        self.expect(f"{dtype} host grad", err.status == 1 and err.argument == b"grad", err.message.decode())
        # labels may also come from the host
        err, _ = run(x, labels.cpu())
        self.expect(f"{dtype} host labels accepted", err.status == 0, err.message.decode())

    def abi_cases(self, gen, dtype):
        """Issue 16, item 5: arguments the C ABI used to accept (and then crash on, or compute wrong
        results from) must be refused with a status naming them, touching nothing."""
        if not self.cuda:
            return
        P, T, V = 1, 4, 1003
        x, labels = make_case(gen, P, T, V, dtype, 1.0, "cuda")
        S = 2 * P
        stream = C.c_void_p(torch.cuda.current_stream().cuda_stream)
        bits = lambda t: t.view(INT_VIEW[dtype]).clone()

        def raw_dpo(xin, grad_ptr, zeroed=0, ref_ptr=None, out_ptrs=None):
            host = [torch.zeros(P) for _ in range(5)]
            ptrs = out_ptrs or [h.data_ptr() for h in host]
            ref_host = torch.zeros(S)
            o = I.DpoOutputs(0, 0, *ptrs, grad_ptr, zeroed)
            lg = self.logits_struct(xin, labels, dtype)
            opts = I.make_options(beta=0.1)
            err = self.ipo.try_call("ipo_cuda_dpo_loss", C.byref(lg), ref_ptr or ref_host.data_ptr(), C.byref(opts), C.byref(o), stream)
            torch.cuda.synchronize()
            return err

        before = bits(x)
        err = raw_dpo(x, x.data_ptr(), zeroed=1)
        self.expect(f"{dtype} gradIsZeroed with an in-place gradient refused",
                    err.status == 1 and err.argument == b"gradIsZeroed" and torch.equal(before, bits(x)), err.message.decode())
        flat = torch.empty(x.numel() + 8, dtype=x.dtype, device="cuda")
        flat[: x.numel()] = x.reshape(-1)
        xs, gs = flat[: x.numel()].view(x.shape), flat[8:].view(x.shape)
        before = bits(flat)
        err = raw_dpo(xs, gs.data_ptr())
        self.expect(f"{dtype} grad overlapping the logits refused",
                    err.status == 1 and err.argument == b"grad" and torch.equal(before, bits(flat)), err.message.decode())
        ref_dev = torch.zeros(S, device="cuda")
        err = raw_dpo(x, None, ref_ptr=ref_dev.data_ptr())
        self.expect(f"{dtype} device refLogps refused", err.status == 1 and err.argument == b"refLogps", err.message.decode())
        for k, name in enumerate((b"chosenLogps", b"rejectedLogps", b"chosenRewards", b"rejectedRewards", b"margins")):
            host = [torch.zeros(P) for _ in range(5)]
            dev = torch.full((P,), float("nan"), device="cuda")
            ptrs = [h.data_ptr() for h in host]
            ptrs[k] = dev.data_ptr()
            err = raw_dpo(x, None, out_ptrs=ptrs)
            self.expect(f"{dtype} device {name.decode()} refused", err.status == 1 and err.argument == name and torch.isnan(dev).all().item(),
                        err.message.decode())
        device = C.c_int32(-7)
        err = self.ipo.try_call("ipo_cuda_pointer_device", C.c_void_p(x.data_ptr()), C.byref(device))
        self.expect(f"{dtype} pointer_device of the logits", err.status == 0 and device.value == torch.cuda.current_device(), err.message.decode())
        err = self.ipo.try_call("ipo_cuda_pointer_device", C.c_void_p(torch.zeros(4).data_ptr()), C.byref(device))
        self.expect(f"{dtype} pointer_device of host memory refused", err.status == 1 and err.argument == b"ptr", err.message.decode())
        err = self.ipo.try_call("ipo_cuda_stream_synchronize_device", torch.cuda.current_device(), stream)
        self.expect(f"{dtype} stream_synchronize_device", err.status == 0, err.message.decode())
        for per_token in (True, False):
            out = torch.full((S * T if per_token else S,), float("nan"), device="cuda")
            fn = "ipo_cuda_token_logprobs" if per_token else "ipo_cuda_sequence_logprobs"
            err = self.ipo.try_call(fn, C.byref(self.logits_struct(x, labels, dtype)), out.data_ptr(), stream)
            self.expect(f"{dtype} device out of {fn} refused", err.status == 1 and err.argument == b"out" and torch.isnan(out).all().item(),
                        err.message.decode())


QUICK_SHAPES = [(1, 1, 1, 1.0), (1, 1, 2, 1.0), (1, 3, 7, 0.7), (2, 5, 1001, 0.5), (1, 4, 4096, 1.0),
                (2, 64, 2048, 0.25), (8, 96, 512, 0.6)]
# Real models' vocabularies: Llama 3 (128256, rows 16-byte aligned in every dtype), Qwen3 (151669:
# odd, so bf16 rows start at every 2-byte offset mod 16), Llama 2 / Mistral fine-tunes (32001); plus
# odd neighbours. Seq lengths keep each case around a million elements (the float64 reference).
VOCAB_SHAPES = [(1, 8, 32001, 0.5), (1, 6, 151669, 1.0), (1, 4, 128256, 0.5), (3, 17, 32003, 0.3),
                (2, 8, 128256, 0.5), (1, 3, 128257, 1.0), (2, 3, 151669, 0.25)]
LOSSES = ["sigmoid", "robust", "hinge", "ipo"]
MODES = ["buffer", "inplace", "zeroed", "none"]


def options_for(k):
    return {"beta": [0.1, 0.05, 1.0, 0.5][k % 4], "loss_type": LOSSES[k % 4],
            "label_smoothing": [0.0, 0.0, 0.25, 0.4999][(k // 4) % 4] if LOSSES[k % 4] in ("sigmoid", "robust") else 0.0,
            "sft_weight": [0.0, 0.2][k % 2]}


def run_quick(r, gen):
    k = 0
    for dtype in ("float32", "bfloat16", "float16"):
        for P, T, V, share in QUICK_SHAPES:
            r.guard(f"{dtype} P={P} T={T} V={V}", r.parity_case, gen, P, T, V, dtype, share, options_for(k), MODES[k % 4])
            k += 1
        r.guard(f"{dtype} gather V=50257", r.gather_case, gen, 2, 9, 50257, dtype, 0.5)
        r.guard(f"{dtype} gather V=3", r.gather_case, gen, 1, 2, 3, dtype, 1.0)
        # an element-aligned base: logits at an odd element offset, grad aligned (one element per access in the gradient pass)
        r.guard(f"{dtype} misaligned buffer", r.parity_case, gen, 2, 4, 4096, dtype, 1.0, {"beta": 0.1, "loss_type": "sigmoid"}, "buffer", misaligned=True)
        # the same base in place: logits and grad share their offset mod 16 (aligned body, scalar head and tail)
        r.guard(f"{dtype} misaligned inplace", r.parity_case, gen, 2, 4, 4096, dtype, 1.0, {"beta": 0.1, "loss_type": "sigmoid"}, "inplace", misaligned=True)
        r.guard(f"{dtype} bad inputs", r.error_cases, gen, dtype)
        r.guard(f"{dtype} C ABI refusals", r.abi_cases, gen, dtype)


def run_vocab(r, gen, cpu_only):
    k = 1
    for dtype in ("bfloat16", "float32", "float16"):
        for P, T, V, share in VOCAB_SHAPES:
            if cpu_only and 2 * P * T * V > 2_000_000:
                continue
            r.guard(f"{dtype} P={P} T={T} V={V}", r.parity_case, gen, P, T, V, dtype, share, options_for(k), MODES[k % 4])
            k += 1
        for V in (32001, 151669, 128256):
            r.guard(f"{dtype} gather V={V}", r.gather_case, gen, 1, 4, V, dtype, 0.75)
        r.guard(f"{dtype} misaligned inplace V=151669", r.parity_case, gen, 1, 3, 151669, dtype, 1.0, {"beta": 0.1, "loss_type": "sigmoid"}, "inplace", misaligned=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib")
    ap.add_argument("--json", help="write every record at the end")
    ap.add_argument("--jsonl", help="append each record the moment it is known")
    ap.add_argument("--group", choices=["quick", "vocab", "all"], default="all")
    ap.add_argument("--cpu-only", action="store_true")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    ipo = I.Ipo(args.lib)
    cuda = not args.cpu_only
    if cuda:
        try:
            info = ipo.device_info(0)
        except I.IpoError as e:
            print(f"ERROR device: {e} (library {ipo.path})", flush=True)
            sys.exit(2)
        print(f"device: {info.name.decode()} sm_{info.major}{info.minor}, {info.multiprocessors} SMs; runtime/driver {ipo.versions()}")
    print(f"seed {args.seed} group {args.group}", flush=True)
    gen = torch.Generator().manual_seed(args.seed)
    r = Runner(ipo, cuda, args.jsonl)
    t0 = time.time()
    lost = None
    try:
        if args.group in ("quick", "all"):
            run_quick(r, gen)
        if args.group in ("vocab", "all"):
            run_vocab(r, gen, args.cpu_only)
    except DeviceLost as e:
        lost = str(e)
        print(f"ERROR {lost}; the remaining cases of group '{args.group}' did not run", flush=True)
        r._write({"case": f"group {args.group}", "ok": False, "error": lost})
        r.failures.append(f"group {args.group}: device lost")
    print(f"\nparity ({args.group}, {time.time() - t0:.0f} s): {len(r.records) - len(r.failures)} passed, {len(r.failures)} failed"
          + (f"; failed: {', '.join(r.failures)}" if r.failures else ""), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "group": args.group, "records": r.records, "failures": r.failures}, f, indent=1, default=float)
    sys.exit(1 if r.failures else 0)


if __name__ == "__main__":
    main()
