"""ctypes mirror of the C ABI (native/include/ipo.h, ipo_cuda.h): structs field for field, enums, signatures.

Only declarations live here; finding and opening the library is `_library.py`'s job.
"""
import ctypes as C

IGNORE_INDEX = -100
DTYPE_CODES = {"float32": 0, "bfloat16": 1, "float16": 2}
LOSS_TYPES = {"sigmoid": 0, "robust": 1, "hinge": 2, "ipo": 3}
STATUS_NAMES = {0: "OK", 1: "IPO_ERR_TYPE", 2: "IPO_ERR_RANGE", 3: "IPO_ERR_NONFINITE", 4: "IPO_ERR_RUNTIME",
                5: "IPO_ERR_UNAVAILABLE"}


class Error(C.Structure):
    _fields_ = [("status", C.c_int32), ("argument", C.c_char * 32), ("message", C.c_char * 256),
                ("sequence", C.c_int64), ("position", C.c_int64)]


class Logits(C.Structure):
    _fields_ = [("data", C.c_void_p), ("dtype", C.c_int32), ("sequences", C.c_int64), ("seq_len", C.c_int64),
                ("vocab", C.c_int64), ("labels", C.c_void_p)]


class DpoOptions(C.Structure):
    _fields_ = [("beta", C.c_double), ("loss_type", C.c_int32), ("label_smoothing", C.c_double),
                ("sft_weight", C.c_double), ("threads", C.c_int32)]


class DpoOutputs(C.Structure):
    _fields_ = [("loss", C.c_double), ("accuracy", C.c_double), ("chosen_logps", C.c_void_p),
                ("rejected_logps", C.c_void_p), ("chosen_rewards", C.c_void_p), ("rejected_rewards", C.c_void_p),
                ("margins", C.c_void_p), ("grad", C.c_void_p), ("grad_is_zeroed", C.c_int32)]


_P = C.POINTER
CPU_SIGNATURES = {
    "ipo_token_logprobs": ([_P(Logits), C.c_void_p, C.c_int32, _P(Error)], C.c_int32),
    "ipo_sequence_logprobs": ([_P(Logits), C.c_void_p, C.c_int32, _P(Error)], C.c_int32),
    "ipo_dpo_loss": ([_P(Logits), C.c_void_p, _P(DpoOptions), _P(DpoOutputs), _P(Error)], C.c_int32),
    "ipo_grad_buffer_acquire": ([C.c_size_t], C.c_void_p),
    "ipo_grad_buffer_release": ([C.c_void_p], None),
    "ipo_version": ([], C.c_char_p),
    "ipo_cpu_simd": ([], C.c_char_p),
    "ipo_cpu_threads": ([], C.c_int32),
}
CUDA_SIGNATURES = {
    "ipo_cuda_device_count": ([_P(C.c_int32), _P(Error)], C.c_int32),
    "ipo_cuda_token_logprobs": ([_P(Logits), C.c_void_p, C.c_void_p, _P(Error)], C.c_int32),
    "ipo_cuda_sequence_logprobs": ([_P(Logits), C.c_void_p, C.c_void_p, _P(Error)], C.c_int32),
    "ipo_cuda_dpo_loss": ([_P(Logits), C.c_void_p, _P(DpoOptions), _P(DpoOutputs), C.c_void_p, _P(Error)],
                          C.c_int32),
}


def declare(lib, signatures):
    """Sets argtypes/restype; raises AttributeError naming the first missing symbol."""
    for name, (args, result) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = result
