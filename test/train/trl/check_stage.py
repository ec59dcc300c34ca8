"""Loads a saved stage folder with transformers, as vLLM or `ipo eval` would, and prints what it
holds: python check_stage.py DIR -> JSON {arch, finite, chat_template, vocab}."""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

path = sys.argv[1]
model = AutoModelForCausalLM.from_pretrained(path)
tok = AutoTokenizer.from_pretrained(path)
ids = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
with torch.no_grad():
    logits = model(input_ids=ids).logits
print(json.dumps({
    "arch": type(model).__name__,
    "finite": bool(torch.isfinite(logits).all()),
    "chat_template": bool(tok.chat_template),
    "vocab": int(logits.shape[-1]),
}))
