"""TRL's DPOTrainer with ipo-node's fused loss in the one place where log-probs and the loss are computed.

    from trl import DPOTrainer
    from ipo_node.trl_fused import fused_loss_status, make_fused_trainer_class
    ok, reason = fused_loss_status()
    Trainer = make_fused_trainer_class(DPOTrainer) if ok else DPOTrainer

The subclass overrides `DPOTrainer._compute_loss` (TRL 1.13), and `compute_ref_log_probs`, the same
computation for the reference model when `precompute_ref_log_probs` is set. Where TRL runs
`selective_log_softmax(logits[:, :-1], input_ids[:, 1:])` for the policy and the reference model,
masks, sums, and builds the loss and its autograd graph over a [2P, T-1, V] log-softmax, it calls
`ipo_node.dpo_loss` on the full logits with labels aligned to the rows (`causal_labels`: no slice, no
copy), and `ipo_node.sequence_logprobs` on the reference logits. Everything around it is TRL's: the
batch, the reference model / PEFT adapter / precomputed reference log-probs, accelerate, the MoE
aux loss, and the logged metrics (same names, same formulas).

Configurations the kernel does not compute fall back to TRL's own `_compute_loss` (once-per-reason
warning): loss types other than sigmoid/hinge/ipo/robust (optionally with "sft"), `ld_alpha`,
`use_weighting`, an f-divergence other than reverse KL, a sequence without a
completion token, and TRL's ipo normalisation when a completion starts at position 0.
"""
import warnings

_KERNEL_LOSS_TYPES = ("sigmoid", "hinge", "ipo", "robust")
_TESTED_TRL = (1, 13)


def fused_loss_status():
    """(available, reason): whether the fused loss can run here (torch, TRL 1.x, the C ABI library for
    this machine's devices). The reason says what is missing, or which library will be used."""
    try:
        import torch
    except ImportError as e:
        return False, f"torch is not installed ({e})"
    try:
        import trl
    except ImportError as e:
        return False, f"trl is not installed ({e})"
    major_minor = tuple(int(p) for p in trl.__version__.split(".")[:2] if p.isdigit())
    if len(major_minor) < 2 or major_minor[0] != _TESTED_TRL[0] or major_minor < _TESTED_TRL:
        return False, (f"TRL {trl.__version__}: the fused loss overrides DPOTrainer._compute_loss as written in "
                       f"TRL {_TESTED_TRL[0]}.{_TESTED_TRL[1]}+ (1.x)")
    from . import _library
    ok, where = _library.status("cpu")
    if not ok:
        return False, where
    if torch.cuda.is_available():
        ok, where_cuda = _library.status("cuda")
        if not ok:
            return False, f"a CUDA device is present but the CUDA library is not: {where_cuda}"
        where = where_cuda
    return True, f"fused loss from {where}"


_classes = {}


def make_fused_trainer_class(base_cls):
    """A subclass of `base_cls` (TRL 1.13's DPOTrainer or a subclass of it) whose `_compute_loss` runs the
    fused kernel. Cached per base class."""
    if base_cls in _classes:
        return _classes[base_cls]
    import torch
    from trl.trainer import dpo_trainer as trl_dpo

    from .loss import causal_labels, dpo_loss, sequence_logprobs

    class FusedDPOTrainer(base_cls):
        _fused_warned = set()

        def _fused_plan(self, model, inputs):
            """(kernel loss type, main weight, sft weight relative to it, label smoothing) or a reason string."""
            types, weights = list(self.loss_types), list(self.loss_weights)
            if self.ld_alpha is not None:
                return "ld_alpha is set"
            if self.use_weighting:
                return "use_weighting is set"
            if self.f_divergence_type != "reverse_kl":
                return f"f_divergence_type={self.f_divergence_type}"
            main = [(t, w) for t, w in zip(types, weights) if t != "sft"]
            sft = [w for t, w in zip(types, weights) if t == "sft"]
            if len(main) != 1 or main[0][0] not in _KERNEL_LOSS_TYPES or len(sft) > 1:
                return f"loss_type={types}"
            loss_type, main_weight = main[0]
            if main_weight <= 0:
                return f"loss_weights={weights}"
            completion_mask = inputs["completion_mask"]
            if (completion_mask[:, 1:].sum(dim=1) == 0).any():
                return "a sequence has no completion token"
            if loss_type == "ipo" and completion_mask[:, 0].any():
                return "ipo with a completion token at position 0 (TRL counts it, nothing scores it)"
            smoothing = float(self.label_smoothing) if loss_type == "robust" else 0.0
            return loss_type, float(main_weight), (float(sft[0]) / main_weight if sft else 0.0), smoothing

        def _reference_logps(self, peft_policy, peft_forward, ref_forward, model_kwargs, labels):
            """The reference model's summed completion log-probs, obtained as TRL obtains the reference
            (`ref_forward`, or, with a PEFT `peft_policy` and no reference model, `peft_forward` with the
            adapter disabled or switched to "ref"), scored by the fused kernel instead of selective_log_softmax."""
            ref_model_kwargs = {k: v for k, v in model_kwargs.items() if k != "output_router_logits"}
            with torch.no_grad(), trl_dpo.disable_gradient_checkpointing(
                    self.model, self.args.gradient_checkpointing_kwargs):
                if self.ref_model is None and trl_dpo.is_peft_model(peft_policy):
                    unwrapped = self.accelerator.unwrap_model(peft_policy)
                    with trl_dpo.use_adapter(unwrapped, adapter_name="ref" if "ref" in unwrapped.peft_config else None):
                        ref_logits = peft_forward(**ref_model_kwargs).logits
                else:
                    ref_logits = ref_forward(**ref_model_kwargs).logits
                return sequence_logprobs(ref_logits, labels)

        def compute_ref_log_probs(self, model, inputs):
            """TRL's reference pass for `precompute_ref_log_probs`, scored by the fused kernel."""
            completion_mask = inputs["completion_mask"]
            if self.ld_alpha is not None or (completion_mask[:, 1:].sum(dim=1) == 0).any():
                return super().compute_ref_log_probs(model, inputs)
            model_kwargs = {k: v for k, v in inputs.items()
                            if k not in {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}}
            model_kwargs["use_cache"] = False
            labels = causal_labels(inputs["input_ids"], completion_mask)
            return self._reference_logps(self.model, model, model, model_kwargs, labels).chunk(2, dim=0)

        def _compute_loss(self, model, inputs, return_outputs):
            plan = self._fused_plan(model, inputs)
            if isinstance(plan, str):
                if plan not in self._fused_warned:
                    self._fused_warned.add(plan)
                    warnings.warn(f"ipo_node fused loss: {plan}; using TRL's own loss computation", stacklevel=2)
                return super()._compute_loss(model, inputs, return_outputs)
            loss_type, main_weight, sft_weight, smoothing = plan
            mode = "train" if self.model.training else "eval"

            _non_model_keys = {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}
            model_kwargs = {k: v for k, v in inputs.items() if k not in _non_model_keys}
            model_kwargs["use_cache"] = False
            if self.aux_loss_enabled:
                model_kwargs["output_router_logits"] = True
            outputs = model(**model_kwargs)

            input_ids = inputs["input_ids"]
            completion_mask = inputs["completion_mask"]
            labels = causal_labels(input_ids, completion_mask)
            if self.precompute_ref_logps:
                ref_chosen_logps, ref_rejected_logps = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
                ref_logps = torch.cat([ref_chosen_logps, ref_rejected_logps])
            else:
                ref_logps = self._reference_logps(model, self.model, self.ref_model, model_kwargs, labels)
                ref_chosen_logps, ref_rejected_logps = ref_logps.chunk(2, dim=0)

            logits = outputs.logits
            if logits.dtype not in (torch.float32, torch.bfloat16, torch.float16):
                logits = logits.float()  # e.g. a float64 model: the kernel reads 32- and 16-bit floats
            fused = dpo_loss(logits, labels, ref_logps, beta=self.beta, loss_type=loss_type,
                             label_smoothing=smoothing, sft_weight=sft_weight)
            loss = fused.loss if main_weight == 1.0 else fused.loss * main_weight

            if self.aux_loss_enabled:
                aux_loss = outputs.aux_loss
                loss = loss + self.router_aux_loss_coef * aux_loss
                self._metrics[mode]["aux_loss"].append(self.accelerator.gather_for_metrics(aux_loss).mean().item())

            self._log_fused_metrics(mode, inputs, logits, labels, fused)
            return (loss, outputs) if return_outputs else loss

        def _log_fused_metrics(self, mode, inputs, logits, labels, fused):
            """TRL 1.13's metrics (names and formulas of DPOTrainer._compute_loss), from the fused outputs.
            The logit metrics (entropy, mean logits, token accuracy) only count completion rows, so they are
            computed on those rows alone, gathered once, instead of over every row as TRL does: the same
            values (up to summation order) at a cost proportional to the scored share."""
            acc = self.accelerator
            scored = labels != -100  # [2P, T]: TRL's shift_completion_mask, aligned with the full logits rows
            flat = logits.detach().reshape(-1, logits.shape[-1])  # a view: the model's logits are contiguous
            rows = flat[scored.reshape(-1)]  # [scored rows, V], chosen sequences' rows first
            pairs = len(labels) // 2
            n_chosen = int(scored[:pairs].sum())
            entropy_sum = acc.gather_for_metrics(trl_dpo.entropy_from_logits(rows).sum()).sum()
            total_tokens = acc.gather_for_metrics(scored.sum()).sum()
            self._metrics[mode]["entropy"].append((entropy_sum / total_tokens).item() if total_tokens > 0 else 0.0)

            if mode == "train":
                num_tokens_in_batch = acc.gather_for_metrics(inputs["attention_mask"].sum()).sum().item()
                self._total_train_tokens += num_tokens_in_batch // self._tp_size
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]

            chosen_rows, rejected_rows = rows[:n_chosen], rows[n_chosen:]
            device = rows.device
            totals = [chosen_rows.mean(-1).sum(), torch.tensor(n_chosen, device=device),
                      rejected_rows.mean(-1).sum(), torch.tensor(len(rejected_rows), device=device)]
            tcl, tct, trl_, trt = (acc.gather_for_metrics(t).sum().item() for t in totals)
            self._metrics[mode]["logits/chosen"].append(tcl / tct if tct > 0 else 0.0)
            self._metrics[mode]["logits/rejected"].append(trl_ / trt if trt > 0 else 0.0)

            chosen_labels = labels[:pairs][scored[:pairs]]
            correct = acc.gather_for_metrics((chosen_rows.argmax(dim=-1) == chosen_labels).sum())
            total = acc.gather_for_metrics(scored[:pairs].sum()).sum()
            self._metrics[mode]["mean_token_accuracy"].append((correct.sum() / total).item() if total > 0 else 0.0)

            chosen_rewards = acc.gather(fused.chosen_rewards)
            rejected_rewards = acc.gather(fused.rejected_rewards)
            self._metrics[mode]["rewards/chosen"].append(chosen_rewards.mean().item())
            self._metrics[mode]["rewards/rejected"].append(rejected_rewards.mean().item())
            reward_accuracies = (fused.chosen_rewards > fused.rejected_rewards).float()
            self._metrics[mode]["rewards/accuracies"].append(acc.gather(reward_accuracies).mean().item())
            self._metrics[mode]["rewards/margins"].append(acc.gather(fused.margins).mean().item())
            self._metrics[mode]["logps/chosen"].append(acc.gather(fused.chosen_logps).mean().item())
            self._metrics[mode]["logps/rejected"].append(acc.gather(fused.rejected_logps).mean().item())

    FusedDPOTrainer.__name__ = FusedDPOTrainer.__qualname__ = f"Fused{base_cls.__name__}"
    _classes[base_cls] = FusedDPOTrainer
    return FusedDPOTrainer
