"""ctypes bindings for libipo_cuda.so (native/include/ipo.h + ipo_cuda.h).

The device machine has Python with PyTorch but no Node, so the GPU check drives the C ABI directly.
Struct layouts mirror the headers field for field; `call()` turns a non-zero status into IpoError.
"""
import ctypes as C
import os
import sys

# The structs and enums are the PyTorch bridge's declarations (python/ipo_node/_abi.py): one ctypes
# mirror of the headers for the whole repository. Importing it loads no torch.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "python"))
from ipo_node._abi import IGNORE_INDEX, LOSS_TYPES, DpoOptions, DpoOutputs, Error, Logits  # noqa: E402
from ipo_node._abi import DTYPE_CODES as DTYPES  # noqa: E402

STATUS = {0: "OK", 1: "TYPE", 2: "RANGE", 3: "NONFINITE", 4: "RUNTIME", 5: "UNAVAILABLE"}
H2D, D2H, D2D = 1, 2, 3


class DeviceInfo(C.Structure):
    _fields_ = [("ordinal", C.c_int32), ("name", C.c_char * 256), ("major", C.c_int32), ("minor", C.c_int32),
                ("multiprocessors", C.c_int32), ("total_memory_bytes", C.c_int64), ("l2_cache_bytes", C.c_int64),
                ("shared_memory_per_block_optin", C.c_int64), ("memory_bus_width_bits", C.c_int32),
                ("pci_bus_id", C.c_int32)]


class IpoError(Exception):
    def __init__(self, err):
        self.status = STATUS.get(err.status, str(err.status))
        self.argument = err.argument.decode()
        self.sequence = err.sequence
        self.position = err.position
        super().__init__(f"[{self.status}] {err.message.decode()}")


LIBRARY_DIRS = [("build-cuda-lib",), ("build-cuda", "Release"), ("build-cuda",)]


def default_library_path():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    for candidate in (os.environ.get("IPO_LIB"), *(os.path.join(root, *p, "libipo_cuda.so") for p in LIBRARY_DIRS)):
        if candidate and os.path.exists(candidate):
            return candidate
    raise FileNotFoundError("libipo_cuda.so not found: build it with "
                            "cmake -S . -B build-cuda-lib -DIPO_WITH_CUDA=ON -DIPO_BUILD_SHARED=ON, or set IPO_LIB")


class Ipo:
    def __init__(self, path=None):
        self.path = path or default_library_path()
        self.lib = C.CDLL(self.path)
        L, P = self.lib, C.POINTER
        sig = {
            "ipo_token_logprobs": [P(Logits), C.c_void_p, C.c_int32, P(Error)],
            "ipo_sequence_logprobs": [P(Logits), C.c_void_p, C.c_int32, P(Error)],
            "ipo_dpo_loss": [P(Logits), C.c_void_p, P(DpoOptions), P(DpoOutputs), P(Error)],
            "ipo_cuda_device_count": [P(C.c_int32), P(Error)],
            "ipo_cuda_device_info_get": [C.c_int32, P(DeviceInfo), P(Error)],
            "ipo_cuda_versions": [P(C.c_int32), P(C.c_int32), P(Error)],
            "ipo_cuda_malloc": [C.c_int32, C.c_size_t, C.c_int32, P(C.c_void_p), P(Error)],
            "ipo_cuda_free": [C.c_void_p, P(Error)],
            "ipo_cuda_memcpy": [C.c_void_p, C.c_void_p, C.c_size_t, C.c_int32, C.c_void_p, P(Error)],
            "ipo_cuda_memset_zero": [C.c_void_p, C.c_size_t, C.c_void_p, P(Error)],
            "ipo_cuda_stream_synchronize": [C.c_void_p, P(Error)],
            "ipo_cuda_stream_synchronize_device": [C.c_int32, C.c_void_p, P(Error)],
            "ipo_cuda_pointer_device": [C.c_void_p, P(C.c_int32), P(Error)],
            "ipo_cuda_token_logprobs": [P(Logits), C.c_void_p, C.c_void_p, P(Error)],
            "ipo_cuda_sequence_logprobs": [P(Logits), C.c_void_p, C.c_void_p, P(Error)],
            "ipo_cuda_dpo_loss": [P(Logits), C.c_void_p, P(DpoOptions), P(DpoOutputs), C.c_void_p, P(Error)],
        }
        for name, args in sig.items():
            fn = getattr(L, name)
            fn.argtypes = args
            fn.restype = C.c_int32
        L.ipo_version.restype = C.c_char_p

    # -- plumbing ------------------------------------------------------------------------------
    def call(self, name, *args):
        err = Error()
        status = getattr(self.lib, name)(*args, C.byref(err))
        if status != 0:
            raise IpoError(err)
        return status

    def try_call(self, name, *args):
        """Returns the Error struct (status 0 on success) instead of raising."""
        err = Error()
        getattr(self.lib, name)(*args, C.byref(err))
        return err

    # -- device --------------------------------------------------------------------------------
    def device_count(self):
        n = C.c_int32(0)
        self.call("ipo_cuda_device_count", C.byref(n))
        return n.value

    def device_info(self, device=0):
        info = DeviceInfo()
        self.call("ipo_cuda_device_info_get", device, C.byref(info))
        return info

    def versions(self):
        rt, drv = C.c_int32(0), C.c_int32(0)
        self.call("ipo_cuda_versions", C.byref(rt), C.byref(drv))
        return rt.value, drv.value


def make_logits(data_ptr, dtype, sequences, seq_len, vocab, labels_ptr):
    return Logits(data_ptr, DTYPES[dtype], sequences, seq_len, vocab, labels_ptr)


def make_options(beta=0.1, loss_type="sigmoid", label_smoothing=0.0, sft_weight=0.0, threads=0):
    return DpoOptions(beta, LOSS_TYPES[loss_type], label_smoothing, sft_weight, threads)
