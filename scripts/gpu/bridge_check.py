"""Device check of the PyTorch bridge (python/ipo_node) on CUDA tensors, for a lent GPU machine.

  python3 scripts/gpu/bridge_check.py [--json out.json]     (IPO_LIB=.../libipo_cuda.so, or a build in
                                                              build-gpu-check/, build-cuda/Release/, ...)

Checks, each printed as `ok`/`FAIL`: ipo_node.dpo_loss on CUDA logits against the float64 PyTorch
reference (reference.py) for every loss type, with and without sft_weight, float32 and bfloat16, odd
vocabularies, unscored rows exactly 0 in the gradient; labels on the device and on the host; a
non-default current stream (the gradient must be ordered before the consumer on that stream); the
CUDA result equal to the CPU path of the same library; errors by argument name; and, when TRL is
installed, the fused DPOTrainer subclass against TRL's own _compute_loss on the same CUDA logits.
Exits 1 if any check fails.
"""
import argparse
import json
import math
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))

import torch  # noqa: E402

import ipo_node  # noqa: E402
import reference as R  # noqa: E402

records, failures = [], []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name} {detail}", flush=True)
    records.append({"case": name, "ok": bool(ok), "detail": detail})
    if not ok:
        failures.append(name)


def rel(a, b):
    a, b = a.double().cpu(), b.double().cpu()
    if not torch.isfinite(a).all():
        return math.inf
    n = torch.linalg.vector_norm(b).item()
    d = torch.linalg.vector_norm(a - b).item()
    return d / n if n > 0 else d


def inputs(g, pairs, T, V, dtype, device):
    S = 2 * pairs
    x = (torch.randn(S, T, V, generator=g) * 3).to(dtype)
    labels = torch.randint(0, V, (S, T), generator=g)
    keep = torch.rand(S, T, generator=g) < 0.4
    keep[:, -1] = True
    labels = torch.where(keep, labels, torch.full_like(labels, -100))
    ref = -torch.rand(S, generator=g) * T * math.log(V)
    return x.to(device), labels, ref


def loss_cases(device):
    g = torch.Generator().manual_seed(11)
    for dtype in (torch.float32, torch.bfloat16):
        for loss_type, eps in (("sigmoid", 0.0), ("sigmoid", 0.1), ("robust", 0.1), ("hinge", 0.0), ("ipo", 0.0)):
            for sft in (0.0, 0.2):
                for V, labels_on_device in ((32003, True), (151669, False)):
                    x, labels, ref = inputs(g, 2, 33, V, dtype, device)
                    leaf = x.clone().requires_grad_(True)
                    out = ipo_node.dpo_loss(leaf, labels.to(device) if labels_on_device else labels, ref.to(device),
                                            beta=0.1, loss_type=loss_type, label_smoothing=eps, sft_weight=sft)
                    (out.loss * 1.7).backward()
                    oracle = R.dpo(x, labels.to(device), ref.to(device), beta=0.1, loss_type=loss_type,
                                   label_smoothing=eps, sft_weight=sft)
                    bf16 = dtype == torch.bfloat16
                    e_loss = rel(out.loss.reshape(1), oracle["loss"].reshape(1))
                    e_rew = rel(out.chosen_rewards, oracle["chosen_rewards"])
                    e_grad = rel(leaf.grad, oracle["grad"] * 1.7)
                    zero = bool((leaf.grad[(labels == -100).to(device)] == 0).all())
                    on_device = out.loss.device.type == "cuda" and leaf.grad.device.type == "cuda"
                    name = f"{str(dtype)[6:]} {loss_type} eps={eps} sft={sft} V={V} labels={'device' if labels_on_device else 'host'}"
                    check(name, e_loss < 1e-5 and e_rew < 1e-5 and e_grad < (5e-3 if bf16 else 1e-5) and zero and on_device,
                          f"loss={e_loss:.1e} rewards={e_rew:.1e} grad={e_grad:.1e} unscored0={zero}")


def stream_case(device):
    g = torch.Generator().manual_seed(12)
    x, labels, ref = inputs(g, 2, 64, 128256, torch.float32, device)
    oracle = R.dpo(x, labels.to(device), ref.to(device))
    side = torch.cuda.Stream(device)
    with torch.cuda.stream(side):
        leaf = x.clone().requires_grad_(True)
        out = ipo_node.dpo_loss(leaf, labels, ref)
        out.loss.backward()
        total = leaf.grad.double().abs().sum()  # enqueued on `side` after the kernel's gradient write
    side.synchronize()
    e = abs(total.item() - oracle["grad"].abs().sum().item()) / oracle["grad"].abs().sum().item()
    check("non-default current stream orders the gradient before its consumer", e < 1e-5, f"rel={e:.1e}")


def cpu_vs_cuda(device):
    g = torch.Generator().manual_seed(13)
    x, labels, ref = inputs(g, 3, 17, 50021, torch.bfloat16, "cpu")
    a, b = x.clone().requires_grad_(True), x.to(device).requires_grad_(True)
    oa, ob = ipo_node.dpo_loss(a, labels, ref, sft_weight=0.2), ipo_node.dpo_loss(b, labels, ref, sft_weight=0.2)
    oa.loss.backward()
    ob.loss.backward()
    e_loss, e_grad = rel(ob.loss.reshape(1), oa.loss.reshape(1)), rel(b.grad, a.grad)
    check("CUDA path equals the CPU path of the same library (bf16)", e_loss < 1e-5 and e_grad < 1e-2,
          f"loss={e_loss:.1e} grad={e_grad:.1e}")
    seq = ipo_node.sequence_logprobs(x.to(device), labels)
    check("sequence_logprobs on CUDA", rel(seq, R.token_logps(x, labels).sum(-1)) < 1e-5)


def errors(device):
    x = torch.randn(4, 5, 11, device=device)
    labels = torch.full((4, 5), -100)
    labels[:, 2:] = 3
    bad = labels.clone()
    bad[1, 3] = 11
    nan_x = x.clone()
    nan_x[2, 4, 0] = float("nan")
    for name, fn, argument in (
            ("label out of range", lambda: ipo_node.dpo_loss(x, bad, torch.zeros(4)), "labels"),
            ("NaN in a scored row", lambda: ipo_node.dpo_loss(nan_x, labels, torch.zeros(4)), "logits"),
            ("ref_logps length", lambda: ipo_node.dpo_loss(x, labels, torch.zeros(3)), "ref_logps"),
            ("beta", lambda: ipo_node.dpo_loss(x, labels, torch.zeros(4), beta=-1.0), "beta")):
        try:
            fn()
            check(f"error: {name}", False, "no error raised")
        except ipo_node.IpoError as e:
            check(f"error: {name}", e.argument == argument and argument in str(e), f"{e.argument}: {e}")


def trl_case(device):
    try:
        from trl import DPOTrainer  # noqa: F401
    except ImportError as e:
        print(f"skip TRL subclass check: {e}")
        return
    from trl import DPOConfig, DPOTrainer
    from transformers import Qwen3Config, Qwen3ForCausalLM
    from datasets import Dataset
    from ipo_node.trl_fused import make_fused_trainer_class
    import tempfile
    V = 1031
    g = torch.Generator().manual_seed(14)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Qwen3Config(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, head_dim=8)
        Qwen3ForCausalLM(cfg).save_pretrained(f"{tmp}/m")

        class Pre(DPOTrainer):
            def _prepare_dataset(self, dataset, *a):
                return dataset
        rows = [{"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5, 6, 7], "rejected_ids": [8, 9]}] * 4
        from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast
        from tokenizers import Tokenizer
        from tokenizers.models import WordLevel
        tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel({f"w{i}": i for i in range(V)}, unk_token="w0")),
                                      pad_token="w0", eos_token="w1")
        results = {}
        x = (torch.randn(4, 7, V, generator=g) * 3).to(device)
        for label, cls in (("trl", Pre), ("fused", make_fused_trainer_class(Pre))):
            model = AutoModelForCausalLM.from_pretrained(f"{tmp}/m").to(device)
            t = cls(model=model, args=DPOConfig(output_dir=f"{tmp}/o", report_to=[], per_device_train_batch_size=2),
                    train_dataset=Dataset.from_list(rows), processing_class=tok)
            t.precompute_ref_logps = True
            batch = {k: v.to(device) for k, v in t.data_collator(rows[:2]).items()}
            batch.update(ref_chosen_logps=torch.tensor([-30.0, -31.0], device=device),
                         ref_rejected_logps=torch.tensor([-15.0, -14.0], device=device))
            leaf = x.clone().requires_grad_(True)
            fake = types.SimpleNamespace(logits=leaf)
            loss = t._compute_loss(lambda **kw: fake, batch, False)
            loss.backward()
            results[label] = (loss.detach(), leaf.grad)
        e_loss = rel(results["fused"][0].reshape(1), results["trl"][0].reshape(1))
        e_grad = rel(results["fused"][1], results["trl"][1])
        check("TRL subclass on CUDA logits equals TRL's own loss", e_loss < 1e-5 and e_grad < 1e-5,
              f"loss={e_loss:.1e} grad={e_grad:.1e}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    args = p.parse_args()
    ok, where = ipo_node.library_status("cuda")
    print(f"library: {where}")
    if not ok or not torch.cuda.is_available():
        print("FAIL no CUDA library or no CUDA device")
        sys.exit(1)
    device = torch.device("cuda", 0)
    print(f"device: {torch.cuda.get_device_name(device)}, torch {torch.__version__}")
    for fn in (loss_cases, stream_case, cpu_vs_cuda, errors, trl_case):
        try:
            fn(device)
        except Exception as e:  # noqa: BLE001 (a crash in one group is a failure, the others still run)
            check(f"{fn.__name__} raised", False, f"{type(e).__name__}: {e}")
    print(f"bridge check: {len(records) - len(failures)}/{len(records)} ok")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
