"""The fused segment-masked DPO loss for PyTorch tensors, over the C ABI (docs/loss.md, docs/python.md).

Layout, as in the Node API and TRL's concatenated batch: logits [2P, T, V] (chosen sequences 0..P-1,
rejected P..2P-1), labels [2P, T] with labels[s, t] = the token that logits row (s, t) scores (the
causal shift is already applied: see `causal_labels`), -100 where not scored; ref_logps [2P].

For a scored row x with label y: logp = x_y - logsumexp(x); pi_s = sum over the scored rows of s.
With s_c = pi_c - ref_c, s_r = pi_r - ref_r, h = beta (s_c - s_r), eps = label_smoothing:
  sigmoid  -(1-eps) log sig(h) - eps log sig(-h)
  robust   (-(1-eps) log sig(h) + eps log sig(-h)) / (1 - 2 eps)
  hinge    max(0, 1 - h)
  ipo      (s_c/n_c - s_r/n_r - 1/(2 beta))^2          (n_s: scored tokens of s)
loss = mean over pairs + sft_weight * (sum of -logp over scored chosen tokens) / (their count).
d loss / d x = coef_s (onehot(y) - softmax(x)): the kernel writes it once, during the forward call,
into a buffer of the logits' dtype (0 on unscored rows); backward only scales it by grad_output.
"""
import ctypes
import weakref
from dataclasses import dataclass

import torch

from . import _abi
from ._library import load

_TORCH_DTYPES = {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}
_INT32_MIN, _INT32_MAX = -(2 ** 31), 2 ** 31 - 1


class IpoError(Exception):
    """An error reported by the C ABI: `code` (IPO_ERR_TYPE, IPO_ERR_RANGE, ...), `argument`, and for
    data errors the first offending `sequence` and `position` (else -1)."""

    def __init__(self, message, code, argument, sequence=-1, position=-1):
        super().__init__(message)
        self.code, self.argument, self.sequence, self.position = code, argument, sequence, position


class IpoTypeError(IpoError, TypeError):
    pass


class IpoValueError(IpoError, ValueError):
    pass


class IpoRuntimeError(IpoError, RuntimeError):
    pass


def _raise(code, argument, message, sequence=-1, position=-1):
    cls = {"IPO_ERR_TYPE": IpoTypeError, "IPO_ERR_RANGE": IpoValueError,
           "IPO_ERR_NONFINITE": IpoValueError}.get(code, IpoRuntimeError)
    raise cls(message, code, argument, sequence, position)


# The C ABI names arguments as the Node API spells them; Python spells them in snake_case.
_PYTHON_NAMES = {"labelSmoothing": "label_smoothing", "sftWeight": "sft_weight", "lossType": "loss_type",
                 "refLogps": "ref_logps"}


def _check(status, err):
    if status != 0:
        code = _abi.STATUS_NAMES.get(err.status, str(err.status))
        argument, message = err.argument.decode(), err.message.decode()
        for node_name, python_name in _PYTHON_NAMES.items():
            message = message.replace(node_name, python_name)
        argument = _PYTHON_NAMES.get(argument, argument)
        if argument and argument not in message:
            message = f"{argument}: {message}"
        _raise(code, argument, message, err.sequence, err.position)


@dataclass
class DpoLossOutput:
    """`loss` backpropagates into the logits; the rest are detached statistics ([P] float32 tensors on
    the logits' device, `accuracy` 0-d): TRL's logps/*, rewards/* and rewards/accuracies metrics."""
    loss: torch.Tensor
    chosen_logps: torch.Tensor
    rejected_logps: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor
    margins: torch.Tensor
    accuracy: torch.Tensor


def causal_labels(input_ids, completion_mask):
    """Labels for `dpo_loss` from a causal LM batch (TRL's `input_ids` and `completion_mask`, [2P, T]):
    row t scores token t+1 where that token is a completion token, -100 elsewhere (always at t = T-1).
    This is TRL's `selective_log_softmax(logits[:, :-1], input_ids[:, 1:])` masked by
    `completion_mask[:, 1:]`, expressed over the full logits, so they are never sliced or copied."""
    labels = torch.full(input_ids.shape, _abi.IGNORE_INDEX, dtype=torch.int32, device=input_ids.device)
    scored = completion_mask[:, 1:].bool()
    labels[:, :-1] = torch.where(scored, input_ids[:, 1:].to(torch.int32), labels[:, :-1])
    return labels


def _validate(logits, labels, ref_logps=None):
    """Checks what the C ABI cannot see through raw pointers; returns (dtype name, labels int32 on host)."""
    if not isinstance(logits, torch.Tensor):
        _raise("IPO_ERR_TYPE", "logits", f"logits must be a torch.Tensor, got {type(logits).__name__}")
    if logits.dtype not in _TORCH_DTYPES:
        _raise("IPO_ERR_TYPE", "logits", f"logits must be float32, bfloat16 or float16, got {logits.dtype}")
    if logits.device.type not in ("cpu", "cuda"):
        _raise("IPO_ERR_TYPE", "logits", f"logits must be on the CPU or a CUDA device, got {logits.device}")
    if logits.dim() != 3:
        _raise("IPO_ERR_RANGE", "logits", f"logits must be [sequences, seq_len, vocab], got shape {tuple(logits.shape)}")
    if not isinstance(labels, torch.Tensor):
        _raise("IPO_ERR_TYPE", "labels", f"labels must be a torch.Tensor, got {type(labels).__name__}")
    if labels.dtype not in (torch.int32, torch.int64, torch.int16, torch.uint8, torch.int8):
        _raise("IPO_ERR_TYPE", "labels", f"labels must be an integer tensor, got {labels.dtype}")
    if tuple(labels.shape) != tuple(logits.shape[:2]):
        _raise("IPO_ERR_RANGE", "labels",
               f"labels must be [sequences, seq_len] = {tuple(logits.shape[:2])}, got {tuple(labels.shape)}")
    if labels.device.type not in ("cpu", logits.device.type) or (labels.is_cuda and labels.device != logits.device):
        _raise("IPO_ERR_TYPE", "labels", f"labels must be on the CPU or on the logits' device ({logits.device}), "
               f"got {labels.device}")
    host_labels = labels.detach().to("cpu")
    if host_labels.dtype == torch.int64 and host_labels.numel() and (
            host_labels.min().item() < _INT32_MIN or host_labels.max().item() > _INT32_MAX):
        _raise("IPO_ERR_RANGE", "labels", "labels hold a value outside the int32 range")
    host_labels = host_labels.to(torch.int32).contiguous()
    if ref_logps is not None:
        if not isinstance(ref_logps, torch.Tensor) or not ref_logps.is_floating_point():
            _raise("IPO_ERR_TYPE", "ref_logps", "ref_logps must be a floating-point torch.Tensor")
        if ref_logps.dim() != 1 or ref_logps.shape[0] != logits.shape[0]:
            _raise("IPO_ERR_RANGE", "ref_logps",
                   f"ref_logps must be [sequences] = [{logits.shape[0]}], got {tuple(ref_logps.shape)}")
    return _TORCH_DTYPES[logits.dtype], host_labels


def _threads(threads):
    return torch.get_num_threads() if threads is None else int(threads)


def _logits_struct(logits, dtype_name, host_labels):
    S, T, V = logits.shape
    T = host_labels.shape[1]  # > logits.shape[1] for a row-strided view read in place (see _row_stride)
    return _abi.Logits(logits.data_ptr(), _abi.DTYPE_CODES[dtype_name], S, T, V, host_labels.data_ptr())


def _row_stride(logits):
    """For a view such as TRL's `logits[:, :-1]` (rows contiguous, each sequence `T_base > T` rows apart
    inside one allocation), T_base: the kernel then reads it in place as [S, T_base, V] with the extra
    rows unscored (never read). None when the tensor is contiguous or not of that form."""
    if logits.is_contiguous() or logits.dim() != 3 or logits.numel() == 0:
        return None
    S, T, V = logits.shape
    s0, s1, s2 = logits.stride()
    if s2 != 1 or s1 != V or s0 % V != 0 or s0 // V <= T:
        return None
    t_base = s0 // V
    storage_elements = logits.untyped_storage().nbytes() // logits.element_size()
    if logits.storage_offset() + S * t_base * V > storage_elements:
        return None  # e.g. logits[:, 1:]: the last sequence's padding rows would lie past the allocation
    return t_base


def _library_for(tensor):
    return load("cuda" if tensor.is_cuda else "cpu")


def _stream(tensor):
    return torch.cuda.current_stream(tensor.device).cuda_stream


_POOL_MIN_BYTES = 1 << 22


def _gradient_buffer(library, logits, shape):
    """An uninitialised tensor shaped like the logits for the kernel to write the gradient into. On the CPU
    it comes from the library's cache of recycled gradient buffers (native/cpu/grad_pool.h) when one is
    free: its pages are already mapped, so the kernel's write costs no page faults (a fresh allocation
    costs ~0.2-0.3 s per GB of faults), and the library zeroes the unscored rows the cheapest way. The
    buffer goes back to the cache when the tensor is freed."""
    nbytes = shape[0] * shape[1] * shape[2] * logits.element_size()
    if logits.is_cuda or nbytes < _POOL_MIN_BYTES:
        return torch.empty(shape, dtype=logits.dtype, device=logits.device)
    ptr = library.lib.ipo_grad_buffer_acquire(nbytes)
    if not ptr:  # cache off (IPO_GRAD_CACHE=0), at its limit, or not Linux
        return torch.empty(shape, dtype=logits.dtype, device=logits.device)
    # A Python subclass of the ctypes array type can carry a weakref finalizer; torch.frombuffer keeps a
    # reference to it for as long as the tensor's storage lives.
    owner = type("PooledGradient", (ctypes.c_uint8 * nbytes,), {}).from_address(ptr)
    weakref.finalize(owner, library.lib.ipo_grad_buffer_release, ptr)
    return torch.frombuffer(owner, dtype=torch.uint8).view(logits.dtype).view(shape)


class _FusedDpoLoss(torch.autograd.Function):
    """forward: one C call computes the loss, the statistics and (when the logits need a gradient) the
    gradient into a buffer; backward: that buffer times grad_output, in place."""

    @staticmethod
    def forward(ctx, logits, host_labels, ref_logps, dtype_name, options):
        S = logits.shape[0]
        P = S // 2
        library = _library_for(logits)
        stats = [torch.empty(P, dtype=torch.float32) for _ in range(5)]  # host: chosen/rejected logps, rewards; margins
        S, T, V = logits.shape
        full_shape = (S, host_labels.shape[1], V)
        grad = _gradient_buffer(library, logits, full_shape) if ctx.needs_input_grad[0] else None
        out = _abi.DpoOutputs(0.0, 0.0, *(t.data_ptr() for t in stats), grad.data_ptr() if grad is not None else None, 0)
        ref_host = ref_logps.detach().to("cpu", torch.float32).contiguous()
        err = _abi.Error()
        inp = _logits_struct(logits, dtype_name, host_labels)
        if logits.is_cuda:
            with torch.cuda.device(logits.device):
                status = library.lib.ipo_cuda_dpo_loss(inp, ref_host.data_ptr(), options, out, _stream(logits), err)
        else:
            status = library.lib.ipo_dpo_loss(inp, ref_host.data_ptr(), options, out, err)
        _check(status, err)
        ctx.grad = grad if grad is None or full_shape[1] == T else grad[:, :T]
        device = logits.device
        stats = [t.to(device) for t in stats]
        loss = torch.tensor(out.loss, dtype=torch.float32, device=device)
        accuracy = torch.tensor(out.accuracy, dtype=torch.float32, device=device)
        ctx.mark_non_differentiable(*stats, accuracy)
        return (loss, *stats, accuracy)

    @staticmethod
    def backward(ctx, grad_loss, *unused):
        grad = ctx.grad
        if grad is None:
            raise RuntimeError("ipo_node.dpo_loss: backward ran twice through one loss (the gradient buffer is "
                               "scaled in place and released); compute the loss again instead of retain_graph=True")
        ctx.grad = None
        if grad.is_cuda:
            grad.mul_(grad_loss.to(grad.device))
        else:
            scale = float(grad_loss)
            if scale != 1.0:
                grad.mul_(scale)
        return grad, None, None, None, None


def dpo_loss(logits, labels, ref_logps, *, beta=0.1, loss_type="sigmoid", label_smoothing=0.0, sft_weight=0.0,
             threads=None):
    """The fused DPO loss of docs/loss.md on torch tensors; see the module docstring for layout and math.

    logits: [2P, T, V] float32/bfloat16/float16 on the CPU or a CUDA device (the CUDA library runs on the
    current stream); labels: [2P, T] int, already aligned with the logits rows (`causal_labels`), -100
    unscored; ref_logps: [2P]. threads: CPU threads for this call (default torch.get_num_threads()).
    Returns a DpoLossOutput. Bad input raises IpoTypeError / IpoValueError naming the argument.
    """
    dtype_name, host_labels = _validate(logits, labels, ref_logps)
    if not isinstance(loss_type, str) or loss_type not in _abi.LOSS_TYPES:
        _raise("IPO_ERR_TYPE", "loss_type", f"loss_type must be one of {sorted(_abi.LOSS_TYPES)}, got {loss_type!r}")
    for name, value in (("beta", beta), ("label_smoothing", label_smoothing), ("sft_weight", sft_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _raise("IPO_ERR_TYPE", name, f"{name} must be a number, got {type(value).__name__}")
    options = _abi.DpoOptions(float(beta), _abi.LOSS_TYPES[loss_type], float(label_smoothing), float(sft_weight),
                              _threads(threads))
    # The kernel reads [S, T, V] row-major. A row-strided view (TRL's logits[:, :-1]) is read in place with
    # padded labels; any other strided tensor is copied (autograd routes its gradient back).
    t_base = _row_stride(logits)
    if t_base is not None:
        padded = torch.full((logits.shape[0], t_base), _abi.IGNORE_INDEX, dtype=torch.int32)
        padded[:, :logits.shape[1]] = host_labels
        host_labels = padded
    elif not logits.is_contiguous():
        logits = logits.contiguous()
    loss, cl, rl, cr, rr, margins, accuracy = _FusedDpoLoss.apply(logits, host_labels, ref_logps, dtype_name, options)
    return DpoLossOutput(loss, cl, rl, cr, rr, margins, accuracy)


def sequence_logprobs(logits, labels, *, threads=None):
    """Summed log-probs of the scored tokens per sequence ([S] float32, no gradient): the reference pass."""
    dtype_name, host_labels = _validate(logits, labels)
    logits = logits.detach().contiguous()
    out = torch.empty(logits.shape[0], dtype=torch.float32)
    _run_logprobs("sequence", logits, dtype_name, host_labels, out, threads)
    return out.to(logits.device)


def token_logprobs(logits, labels, *, threads=None):
    """log p(label | row) per position ([S, T] float32, 0 where not scored, no gradient)."""
    dtype_name, host_labels = _validate(logits, labels)
    logits = logits.detach().contiguous()
    out = torch.empty(logits.shape[:2], dtype=torch.float32)
    _run_logprobs("token", logits, dtype_name, host_labels, out, threads)
    return out.to(logits.device)


def _run_logprobs(which, logits, dtype_name, host_labels, out, threads):
    library = _library_for(logits)
    err = _abi.Error()
    inp = _logits_struct(logits, dtype_name, host_labels)
    if logits.is_cuda:
        with torch.cuda.device(logits.device):
            fn = getattr(library.lib, f"ipo_cuda_{which}_logprobs")
            status = fn(inp, out.data_ptr(), _stream(logits), err)
    else:
        status = getattr(library.lib, f"ipo_{which}_logprobs")(inp, out.data_ptr(), _threads(threads), err)
    _check(status, err)
