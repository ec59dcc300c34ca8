"""A tiny random-init Qwen3-architecture model folder for the TRL-engine tests:
python make_tiny_qwen3.py TOKENIZER_DIR DEST [HIDDEN]. 2 layers, the real tokenizer's full vocabulary
(151,669 rows for Qwen3: the logits, not the layers, are what costs time)."""
import json
import shutil
import sys

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

tokenizer_dir, dest = sys.argv[1], sys.argv[2]
hidden = int(sys.argv[3]) if len(sys.argv) > 3 else 32
with open(f"{tokenizer_dir}/tokenizer.json", encoding="utf-8") as f:
    tok = json.load(f)
vocab = max([*tok["model"]["vocab"].values(), *(t["id"] for t in tok.get("added_tokens", []))]) + 1
torch.manual_seed(0)
config = Qwen3Config(
    vocab_size=vocab,
    hidden_size=hidden,
    intermediate_size=2 * hidden,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=hidden // 4,
    max_position_embeddings=2048,
    tie_word_embeddings=True,
)
model = Qwen3ForCausalLM(config)
model.save_pretrained(dest, safe_serialization=True)
for name in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(f"{tokenizer_dir}/{name}", f"{dest}/{name}")
print(dest, sum(p.numel() for p in model.parameters()))
