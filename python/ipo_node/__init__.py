"""ipo-node for PyTorch: the fused segment-masked DPO loss over the C ABI, and the TRL training engine.

Nothing here imports torch at package import time, so `python -m ipo_node.<tool>` can report a
missing or too-old torch/TRL with one clear message instead of a traceback.
"""
