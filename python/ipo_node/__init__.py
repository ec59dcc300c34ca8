"""ipo-node for PyTorch: the fused segment-masked DPO loss over the C ABI, and the TRL training engine.

Nothing here imports torch at package import time, so `python -m ipo_node.<tool>` can report a
missing or too-old torch/TRL with one clear message instead of a traceback.
"""

__version__ = "0.1.0"

# Lazy exports: `ipo_node.dpo_loss` imports torch on first use, not at `import ipo_node`.
_LAZY = {
    "dpo_loss": "loss", "sequence_logprobs": "loss", "token_logprobs": "loss", "causal_labels": "loss",
    "DpoLossOutput": "loss", "IpoError": "loss", "IpoTypeError": "loss", "IpoValueError": "loss",
    "IpoRuntimeError": "loss", "load_library": "_library", "library_status": "_library",
    "LibraryNotFound": "_library",
}
_RENAMED = {"load_library": "load", "library_status": "status"}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'ipo_node' has no attribute {name!r}")
    import importlib
    module = importlib.import_module(f".{_LAZY[name]}", __name__)
    value = getattr(module, _RENAMED.get(name, name))
    globals()[name] = value
    return value
