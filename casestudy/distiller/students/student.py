"""Students: small Llama-style causal LMs trained from scratch with the teacher's tokenizer.

With the teacher's 49,152-token vocabulary the embedding table dominates a small model
(at width 96 it is already 4.7M parameters), so input and output embeddings are tied
and the sizes below grow depth and width together from about 5M to about 60M.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase


@dataclass(frozen=True)
class StudentConfig:
    hidden_size: int = 96            # width; the tied embedding costs vocab * width
    num_layers: int = 4              # depth
    num_heads: int = 3               # head_dim = hidden / heads = 32
    num_kv_heads: int = 1            # grouped-query attention, as SmolLM2
    intermediate_size: int = 256     # SwiGLU width (~2.7x hidden)
    max_positions: int = 1024        # longest prompt + completion we train on
    rope_theta: float = 10000.0      # short contexts: the usual base is fine
    init_std: float = 0.02           # GPT-2/Llama initialisation

    def to_dict(self) -> dict:
        return asdict(self)


# Named sizes (approximate parameter counts with the 49,152-token vocabulary).
SIZES: dict[str, StudentConfig] = {
    "5m": StudentConfig(96, 4, 3, 1, 256),
    "15m": StudentConfig(256, 6, 4, 2, 768),
    "30m": StudentConfig(384, 8, 6, 2, 1024),
    "60m": StudentConfig(640, 7, 10, 2, 1728),
}


def student_config(size: str | StudentConfig) -> StudentConfig:
    """A size name from SIZES (e.g. "5m") or a StudentConfig, as a StudentConfig."""
    if isinstance(size, StudentConfig):
        return size
    if size not in SIZES:
        raise ValueError(f"unknown student size {size!r}; choose one of {sorted(SIZES)}")
    return SIZES[size]


def llama_config(config: StudentConfig, tokenizer: PreTrainedTokenizerBase) -> LlamaConfig:
    """The transformers LlamaConfig of a student that uses `tokenizer`."""
    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_kv_heads,
        max_position_embeddings=config.max_positions,
        rope_parameters={"rope_type": "default", "rope_theta": config.rope_theta},
        initializer_range=config.init_std,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        attention_dropout=0.0,
        use_cache=True,
    )


def make_student(config: StudentConfig | str, tokenizer: PreTrainedTokenizerBase, seed: int = 0) -> LlamaForCausalLM:
    """A freshly initialised student (fp32, SDPA attention, tied embeddings)."""
    cfg = llama_config(student_config(config), tokenizer)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM._from_config(cfg, attn_implementation="sdpa")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    return model


def count_params(model: torch.nn.Module) -> int:
    """Unique parameters (a tied embedding counts once)."""
    return sum(p.numel() for p in model.parameters())


def size_table(tokenizer: PreTrainedTokenizerBase) -> list[dict]:
    """Parameter counts of every named size, built on the meta device (no memory)."""
    rows = []
    for name, cfg in SIZES.items():
        with torch.device("meta"):
            model = LlamaForCausalLM(llama_config(cfg, tokenizer))
        total = count_params(model)
        embed = model.get_input_embeddings().weight.numel()
        rows.append({"size": name, "params": total, "embedding_params": embed,
                     "embedding_share": embed / total, "hidden": cfg.hidden_size, "layers": cfg.num_layers})
    return rows
