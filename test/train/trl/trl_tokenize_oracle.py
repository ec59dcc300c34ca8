"""What TRL 1.13 scores, for the tokenization truth test. Input JSON: a list of jobs {tokenizer,
text: [{prompt, chosen, rejected}], ids: [{prompt_ids, chosen_ids, rejected_ids}]}. Output JSON, a
list with, per job:
  text:   TRL's own tokenization of the text rows (DPOTrainer._prepare_dataset, unmodified)
  engine: the pre-tokenized rows through the engine's trainer class (_prepare_dataset) and TRL's
          DataCollatorForPreference: per pair, the ids under completion_mask (what the loss scores)
          and the ids before it (the prompt), for the chosen and the rejected sequence."""
import json
import sys
import tempfile
from types import SimpleNamespace

from datasets import Dataset
from transformers import AutoTokenizer
from trl import DPOConfig, DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference, _tokenize

from ipo_node.trl_trainer import trainer_class

def run(job):
    tok = AutoTokenizer.from_pretrained(job["tokenizer"])
    with tempfile.TemporaryDirectory() as scratch:
        args = DPOConfig(output_dir=scratch, max_length=None, report_to=[], bf16=False, use_cpu=True)
        fake = SimpleNamespace(_tokenizer=tok)
        text = DPOTrainer._prepare_dataset(fake, Dataset.from_list(job["text"]), tok, args, "train")
        engine_cls, _ = trainer_class(None)
        rows = engine_cls._prepare_dataset(fake, Dataset.from_list(job["ids"]), tok, args, "train")
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    collate = DataCollatorForPreference(pad_token_id=pad, max_length=None)
    engine = []
    for start in range(0, len(rows), 8):
        chunk = [rows[i] for i in range(start, min(start + 8, len(rows)))]
        batch = collate(chunk)
        n = len(chunk)
        for i in range(n):
            out = {}
            for name, row in (("chosen", i), ("rejected", n + i)):
                ids, mask, att = batch["input_ids"][row], batch["completion_mask"][row], batch["attention_mask"][row]
                out[name] = ids[mask.bool()].tolist()
                first = int(mask.nonzero()[0])
                out[f"prompt_{name}"] = ids[:first].tolist()
                out[f"length_{name}"] = int(att.sum())
            engine.append(out)
    # TRL's own boundary check (it logs "Mismatch between tokenized prompt and the start of tokenized
    # prompt+chosen"): does a BPE merge cross the prompt/completion boundary?
    merges = []
    for r in job["text"]:
        prompt = _tokenize(tok, r["prompt"])["input_ids"]
        merges.append([_tokenize(tok, r["prompt"] + r[k])["input_ids"][: len(prompt)] != prompt for k in ("chosen", "rejected")])
    return {
        "merges": merges,
        "eos": tok.eos_token,
        "text": [{k: r[k] for k in ("prompt_ids", "chosen_ids", "rejected_ids")} for r in text],
        "engine": engine,
    }


with open(sys.argv[1], encoding="utf-8") as f:
    jobs = json.load(f)
print(json.dumps([run(job) for job in jobs]))
