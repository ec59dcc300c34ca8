"""Finds and opens the plain shared library of the C ABI, and says exactly why when it cannot.

Two flavours are built beside the Node addon: `libipo.so` (CPU) and `libipo_cuda.so` (CPU + CUDA,
static CUDA runtime, loads without a driver). Search order, first hit wins:
  1. `IPO_LIB`: one file, used for everything (a CUDA build also serves CPU tensors);
  2. the npm package's prebuilds: `<package root>/prebuilds/<platform>-<arch>/` (this folder's `../..`);
  3. the development build folders of a checkout: build/Release (cmake-js), build, build-lib, and for
     CUDA build-cuda/Release, build-cuda, build-cuda-lib, build-gpu-check.
CPU tensors prefer `libipo.so` and fall back to `libipo_cuda.so`; CUDA tensors need `libipo_cuda.so`.
"""
import ctypes
import os
import platform
import sys
import threading

from . import _abi

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ARCH_NAMES = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
_BUILD_DIRS = {
    "cpu": [("build", "Release"), ("build",), ("build-lib",)],
    "cuda": [("build-cuda", "Release"), ("build-cuda",), ("build-cuda-lib",), ("build-gpu-check",),
             ("build", "Release")],
}
_FILE_NAMES = {"cpu": "libipo.so", "cuda": "libipo_cuda.so"}


class LibraryNotFound(ImportError):
    """The C ABI library could not be loaded; the message lists every place tried and why it failed."""


def platform_tag():
    """Node's `${process.platform}-${process.arch}` for this machine, e.g. linux-x64."""
    machine = platform.machine().lower()
    return f"{sys.platform if sys.platform != 'win32' else 'win32'}-{_ARCH_NAMES.get(machine, machine)}"


def candidate_paths(kind):
    """Where `kind` ('cpu' or 'cuda') is looked for, in order (before IPO_LIB is considered)."""
    name = _FILE_NAMES[kind]
    paths = [os.path.join(PACKAGE_ROOT, "prebuilds", platform_tag(), name)]
    paths += [os.path.join(PACKAGE_ROOT, *parts, name) for parts in _BUILD_DIRS[kind]]
    return paths


class Library:
    """An opened library: `lib` (the ctypes handle), `path`, `has_cuda`, `version`."""

    def __init__(self, path):
        self.path = path
        self.lib = ctypes.CDLL(path)  # ctypes.CDLL calls release the GIL while the kernel runs
        _abi.declare(self.lib, _abi.CPU_SIGNATURES)
        try:
            _abi.declare(self.lib, _abi.CUDA_SIGNATURES)
            self.has_cuda = True
        except AttributeError:
            self.has_cuda = False
        self.version = self.lib.ipo_version().decode()

    def __repr__(self):
        return f"Library({self.path!r}, version={self.version!r}, cuda={self.has_cuda})"


_lock = threading.Lock()
_loaded = {}


def _try_open(path, kind):
    """Returns (Library, None) or (None, reason)."""
    if not os.path.exists(path):
        return None, "no such file"
    try:
        library = Library(path)
    except OSError as e:  # dlopen failure: wrong architecture, missing libstdc++ symbol, ...
        return None, f"dlopen failed: {e}"
    except AttributeError as e:
        return None, f"not an ipo-node C ABI library (missing symbol: {e})"
    if kind == "cuda" and not library.has_cuda:
        return None, "a CPU-only build (no ipo_cuda_* symbols)"
    return library, None


def load(kind="cpu"):
    """The library for `kind` ('cpu' or 'cuda'), opened once per process. Raises LibraryNotFound."""
    with _lock:
        if kind in _loaded:
            return _loaded[kind]
        tried = []
        env = os.environ.get("IPO_LIB")
        if env:
            library, why = _try_open(env, kind)
            if library is None:
                raise LibraryNotFound(f"IPO_LIB={env}: {why}")
            _loaded[kind] = library
            return library
        order = candidate_paths(kind) if kind == "cuda" else candidate_paths("cpu") + candidate_paths("cuda")
        for path in order:
            library, why = _try_open(path, kind)
            if library is not None:
                _loaded[kind] = library
                return library
            tried.append(f"  {path}: {why}")
        hint = ("build it with `npm run build:native` (libipo.so) or "
                "`npx cmake-js compile --out build-cuda --CDIPO_WITH_CUDA=ON` (libipo_cuda.so), "
                "install the npm package (its prebuilds/ hold both), or set IPO_LIB to the file")
        raise LibraryNotFound(f"ipo-node: no {_FILE_NAMES[kind]} could be loaded; tried:\n" + "\n".join(tried)
                              + f"\n{hint}")


def status(kind="cpu"):
    """(True, 'path (version)') when `kind` loads, else (False, the reason)."""
    try:
        library = load(kind)
    except LibraryNotFound as e:
        return False, str(e)
    return True, f"{library.path} (ipo-node {library.version})"
