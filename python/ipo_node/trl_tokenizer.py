"""Saves a hub model's tokenizer into a folder, so ipo-node tokenizes the pairs with the model's own
files: `python -m ipo_node.trl_tokenizer MODEL_ID DEST`."""
from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m ipo_node.trl_tokenizer MODEL_ID DEST", file=sys.stderr)
        return 2
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(argv[0])
    tokenizer.save_pretrained(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
