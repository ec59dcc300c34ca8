"""ipo_node.dpo_loss against the float64 oracle (scripts/gpu/reference.py: log_softmax + gather + autograd
in float64) on the same rounded logits, and its bad-input errors. Prints one JSON object: `cases` (one
per configuration: relative errors of loss, rewards, log-probs and gradient, and whether unscored
gradient rows are exactly 0) and `errors` (what each bad input raised)."""
import json
import math

import support  # noqa: F401  (import paths)
import torch

import ipo_node
import reference as R

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def rel(a, b):
    a, b = a.double(), b.double()
    if not torch.isfinite(a).all():
        return math.inf
    n = torch.linalg.vector_norm(b).item()
    d = torch.linalg.vector_norm(a - b).item()
    return d / n if n > 0 else d


def make_inputs(g, pairs, seq_len, vocab, dtype, scored_share=0.5):
    S = 2 * pairs
    x = (torch.randn(S, seq_len, vocab, generator=g) * 3).to(dtype)
    labels = torch.randint(0, vocab, (S, seq_len), generator=g)
    keep = torch.rand(S, seq_len, generator=g) < scored_share
    keep[:, -1] = True  # every sequence scores something
    labels = torch.where(keep, labels, torch.full_like(labels, -100))
    ref = -torch.rand(S, generator=g) * seq_len * math.log(vocab)
    return x, labels, ref


def case(g, name, pairs, seq_len, vocab, dtype, loss_type, smoothing, sft, grad_scale=1.0, threads=None,
         strided=None):
    x, labels, ref = make_inputs(g, pairs, seq_len, vocab, DTYPES[dtype])
    leaf = x.clone().requires_grad_(True)
    if strided == "head":  # TRL's logits[:, :-1]: read in place, the extra rows unscored
        logits = torch.cat([leaf, leaf[:, :1]], dim=1)[:, :seq_len]
    elif strided == "tail":  # logits[:, 1:]: the last sequence's extra row lies past the allocation: copied
        logits = torch.cat([leaf[:, :1], leaf], dim=1)[:, 1:]
    else:
        logits = leaf
    assert strided is None or not logits.is_contiguous()
    out = ipo_node.dpo_loss(logits, labels, ref, beta=0.1, loss_type=loss_type, label_smoothing=smoothing,
                            sft_weight=sft, threads=threads)
    (out.loss * grad_scale).backward()
    oracle = R.dpo(x, labels, ref, beta=0.1, loss_type=loss_type, label_smoothing=smoothing, sft_weight=sft)
    pairs_ = pairs
    grad = leaf.grad
    oracle_grad = oracle["grad"] * grad_scale
    unscored = labels == -100
    return {
        "name": name, "dtype": dtype, "lossType": loss_type, "sftWeight": sft, "vocab": vocab,
        "gradDtype": str(grad.dtype).replace("torch.", ""),
        "loss": rel(out.loss.detach().reshape(1), oracle["loss"].reshape(1)),
        "chosenLogps": rel(out.chosen_logps, oracle["chosen_logps"]),
        "rejectedLogps": rel(out.rejected_logps, oracle["rejected_logps"]),
        "chosenRewards": rel(out.chosen_rewards, oracle["chosen_rewards"]),
        "rejectedRewards": rel(out.rejected_rewards, oracle["rejected_rewards"]),
        "margins": rel(out.margins, oracle["margins"]),
        "accuracyDiff": abs(out.accuracy.item() - oracle["accuracy"].item()),
        "grad": rel(grad, oracle_grad),
        "unscoredGradZero": bool((grad[unscored] == 0).all()),
        "pairs": pairs_,
    }


def cases():
    g = torch.Generator().manual_seed(1234)
    out = []
    for dtype in DTYPES:
        for loss_type, smoothing in (("sigmoid", 0.0), ("sigmoid", 0.1), ("robust", 0.1), ("hinge", 0.0),
                                     ("ipo", 0.0)):
            for sft in (0.0, 0.3):
                out.append(case(g, f"{dtype} {loss_type} eps={smoothing} sft={sft}", 2, 9, 1031, dtype, loss_type,
                                smoothing, sft))
        out.append(case(g, f"{dtype} odd vocab 31", 3, 5, 31, dtype, "sigmoid", 0.0, 0.2))
        out.append(case(g, f"{dtype} vocab 4099, grad_output 2.5", 1, 7, 4099, dtype, "sigmoid", 0.0, 0.0,
                        grad_scale=2.5))
        out.append(case(g, f"{dtype} strided view logits[:, :-1]", 2, 6, 257, dtype, "sigmoid", 0.0, 0.1,
                        strided="head", grad_scale=0.5))
        out.append(case(g, f"{dtype} strided view logits[:, 1:]", 2, 6, 257, dtype, "hinge", 0.0, 0.0,
                        strided="tail"))
        out.append(case(g, f"{dtype} one thread", 2, 6, 2053, dtype, "sigmoid", 0.0, 0.1, threads=1))
    return out


def thread_invariance():
    g = torch.Generator().manual_seed(7)
    x, labels, ref = make_inputs(g, 2, 16, 3001, torch.float32)
    results = []
    for threads in (1, 2):
        leaf = x.clone().requires_grad_(True)
        o = ipo_node.dpo_loss(leaf, labels, ref, threads=threads)
        o.loss.backward()
        results.append((o.loss.item(), leaf.grad.clone()))
    return {"lossEqual": results[0][0] == results[1][0], "gradEqual": bool(torch.equal(results[0][1], results[1][1]))}


def no_grad_and_logprobs():
    g = torch.Generator().manual_seed(9)
    x, labels, ref = make_inputs(g, 2, 8, 513, torch.float32)
    with torch.no_grad():
        o = ipo_node.dpo_loss(x.requires_grad_(True), labels, ref)
    oracle = R.dpo(x.detach(), labels, ref)
    seq = ipo_node.sequence_logprobs(x, labels)
    tok = ipo_node.token_logprobs(x, labels)
    return {"noGradLoss": rel(o.loss.reshape(1), oracle["loss"].reshape(1)), "noGradFn": o.loss.grad_fn is None,
            "sequenceLogprobs": rel(seq, oracle["seq_logps"]), "tokenLogprobs": rel(tok, oracle["token_logps"])}


def recycled_buffers():
    """Large gradients come from the library's recycled buffers: scribble over each returned gradient,
    then check the next call still returns exactly 0 on unscored rows and the oracle's values elsewhere."""
    g = torch.Generator().manual_seed(21)
    worst, zero = 0.0, True
    for i in range(4):
        x, labels, ref = make_inputs(g, 2, 32, 32003 + 2 * i, torch.float32, scored_share=0.3 + 0.2 * (i % 2))
        leaf = x.requires_grad_(True)
        ipo_node.dpo_loss(leaf, labels, ref, sft_weight=0.1).loss.backward()
        oracle = R.dpo(x.detach(), labels, ref, sft_weight=0.1)
        worst = max(worst, rel(leaf.grad, oracle["grad"]))
        zero = zero and bool((leaf.grad[labels == -100] == 0).all())
        leaf.grad.fill_(7.0)
        del leaf
    return {"grad": worst, "unscoredGradZero": zero}


def causal_labels_check():
    input_ids = torch.tensor([[5, 6, 7, 8, 0], [5, 9, 9, 0, 0]])
    mask = torch.tensor([[0, 0, 1, 1, 0], [0, 1, 1, 0, 0]])
    return ipo_node.causal_labels(input_ids, mask).tolist()


def raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 (the check records whatever was raised)
        return {"type": type(e).__name__, "bases": [c.__name__ for c in type(e).__mro__],
                "argument": getattr(e, "argument", None), "code": getattr(e, "code", None),
                "sequence": getattr(e, "sequence", None), "position": getattr(e, "position", None),
                "message": str(e)}
    return None


def errors():
    x = torch.randn(4, 5, 11, requires_grad=True)
    labels = torch.full((4, 5), -100)
    labels[:, 2:] = 3
    ref = torch.zeros(4)
    bad_label = labels.clone()
    bad_label[1, 3] = 11
    nan_x = x.detach().clone()
    nan_x[2, 4, 0] = float("nan")
    empty_seq = labels.clone()
    empty_seq[3] = -100
    return {
        "logitsNotTensor": raised(lambda: ipo_node.dpo_loss([[1.0]], labels, ref)),
        "logitsInt": raised(lambda: ipo_node.dpo_loss(torch.zeros(4, 5, 11, dtype=torch.int32), labels, ref)),
        "logits2d": raised(lambda: ipo_node.dpo_loss(torch.zeros(4, 11), labels, ref)),
        "labelsShape": raised(lambda: ipo_node.dpo_loss(x, labels[:, :4], ref)),
        "labelsFloat": raised(lambda: ipo_node.dpo_loss(x, labels.float(), ref)),
        "labelOutOfRange": raised(lambda: ipo_node.dpo_loss(x, bad_label, ref)),
        "refLength": raised(lambda: ipo_node.dpo_loss(x, labels, torch.zeros(3))),
        "beta": raised(lambda: ipo_node.dpo_loss(x, labels, ref, beta=0.0)),
        "betaType": raised(lambda: ipo_node.dpo_loss(x, labels, ref, beta="0.1")),
        "lossType": raised(lambda: ipo_node.dpo_loss(x, labels, ref, loss_type="dpo")),
        "labelSmoothing": raised(lambda: ipo_node.dpo_loss(x, labels, ref, label_smoothing=0.5)),
        "sftWeight": raised(lambda: ipo_node.dpo_loss(x, labels, ref, sft_weight=-1.0)),
        "oddSequences": raised(lambda: ipo_node.dpo_loss(x[:3], labels[:3], ref[:3])),
        "emptySequence": raised(lambda: ipo_node.dpo_loss(x, empty_seq, ref)),
        "nanInScoredRow": raised(lambda: ipo_node.dpo_loss(nan_x, labels, ref)),
        "nanInUnscoredRowIsFine": raised(lambda: ipo_node.dpo_loss(
            torch.where(torch.arange(5).view(1, 5, 1) < 2, torch.full_like(x.detach(), float("nan")), x.detach()),
            labels, ref)),
        "backwardTwice": raised(lambda: _backward_twice(x, labels, ref)),
    }


def _backward_twice(x, labels, ref):
    loss = ipo_node.dpo_loss(x, labels, ref).loss
    loss.backward(retain_graph=True)
    loss.backward()


def main():
    result = {"library": ipo_node.library_status(), "cases": cases(), "threads": thread_invariance(),
              "noGrad": no_grad_and_logprobs(), "recycled": recycled_buffers(), "causalLabels": causal_labels_check(), "errors": errors()}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
