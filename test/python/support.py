"""Shared by the bridge's Python checks: import paths, a tiny random-init Qwen3, a word-level tokenizer,
random pre-tokenized preference rows, and DPOTrainer factories (plain and fused) over them."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "scripts", "gpu"))  # reference.py: the float64 oracle

import torch  # noqa: E402


def tiny_tokenizer(vocab):
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast
    words = {f"w{i}": i for i in range(vocab - 2)}
    words["<pad>"], words["<eos>"] = vocab - 2, vocab - 1
    tok = PreTrainedTokenizerFast(tokenizer_object=Tokenizer(WordLevel(words, unk_token="w0")),
                                  pad_token="<pad>", eos_token="<eos>")
    return tok


def tiny_qwen3(path, vocab, hidden=32, layers=2, seed=0):
    """Saves a random-init Qwen3 (the real architecture, tiny sizes) to `path` (DPOTrainer loads the
    reference model from the model's name) and returns the model."""
    from transformers import Qwen3Config, Qwen3ForCausalLM
    torch.manual_seed(seed)
    config = Qwen3Config(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=hidden // 4,
                         max_position_embeddings=256, tie_word_embeddings=False)
    model = Qwen3ForCausalLM(config)
    model.save_pretrained(path)
    return model


def preference_rows(vocab, n, seed=0, prompt=(3, 9), completion=(2, 8)):
    """Random pre-tokenized rows of varied lengths, so batches hold padding and prompt positions (unscored)."""
    g = torch.Generator().manual_seed(seed)

    def ids(lo, hi):
        length = int(torch.randint(lo, hi + 1, (1,), generator=g))
        return torch.randint(0, vocab - 2, (length,), generator=g).tolist()
    return [{"prompt_ids": ids(*prompt), "chosen_ids": ids(*completion), "rejected_ids": ids(*completion)}
            for _ in range(n)]


def trainer_classes():
    from trl import DPOTrainer

    from ipo_node.trl_fused import make_fused_trainer_class

    class PretokenizedDPOTrainer(DPOTrainer):
        """Rows are already token ids: TRL must not tokenize them again."""

        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            return dataset
    return PretokenizedDPOTrainer, make_fused_trainer_class(PretokenizedDPOTrainer)


def make_trainer(cls, model_path, rows, tokenizer, out_dir, peft_config=None, **config):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32)
    defaults = dict(output_dir=out_dir, per_device_train_batch_size=2, max_steps=2, learning_rate=1e-3,
                    logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, seed=0, data_seed=0,
                    dataloader_num_workers=0, disable_tqdm=True, lr_scheduler_type="constant", beta=0.1)
    defaults.update(config)
    return cls(model=model, args=DPOConfig(**defaults), train_dataset=Dataset.from_list(rows),
               processing_class=tokenizer, peft_config=peft_config)
