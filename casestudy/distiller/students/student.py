"""Students: where a student starts, before training on the harvest.

A real distiller starts from a pretrained model and copies the teacher's post-training
into it (Alpaca from LLaMA-7B, DeepSeek's R1-Distill from Qwen2.5 and Llama-3 bases).
Offline, the only pretrained weights are the public SmolLM2-135M-Instruct, so a
`StudentSpec` says:

- `public`: the public model itself, the distiller's main student;
- `public@0.75`: the public model cut to about 75% of its parameters by importance
  (`prune.py`, Minitron's width and ShortGPT's depth measures), then healed by training;
- `scratch-5m` (or 15m, 30m, 60m): small Llama-style models trained from random weights
  with the public tokenizer, what a distiller without a base gets.

With the 49,152-token vocabulary the embedding table dominates a small scratch model (at
width 96 it is already 4.7M parameters), so input and output embeddings are tied and the
scratch sizes grow depth and width together from about 5M to about 60M.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

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


@dataclass(frozen=True)
class StudentSpec:
    """Where a student starts: the public model (whole or pruned) or a scratch model of a named size."""

    init: str = "public"     # "public" (pretrained weights) or "scratch" (random weights)
    share: float = 1.0       # public: share of the parameters kept (< 1: pruned by importance)
    size: str = "5m"         # scratch: a name in SIZES

    def __post_init__(self) -> None:
        if self.init not in ("public", "scratch"):
            raise ValueError(f"a student starts from 'public' or 'scratch', not {self.init!r}")
        if not 0 < self.share <= 1:
            raise ValueError(f"share must be in (0, 1], not {self.share!r}")
        if self.init == "scratch":
            student_config(self.size)

    @classmethod
    def parse(cls, text: "str | StudentSpec") -> "StudentSpec":
        """"public", "public@0.5" or "scratch-5m"."""
        if isinstance(text, StudentSpec):
            return text
        if text.startswith("scratch-"):
            return cls("scratch", size=text.removeprefix("scratch-"))
        if text == "public" or text.startswith("public@"):
            share = text.partition("@")[2]
            try:
                return cls("public", share=float(share) if share else 1.0)
            except ValueError:
                pass
        raise ValueError(f"unknown student {text!r}: use 'public', 'public@<share>' (e.g. public@0.5) or "
                         f"'scratch-<size>' with a size in {sorted(SIZES)}")

    def __str__(self) -> str:
        if self.init == "scratch":
            return f"scratch-{self.size}"
        return "public" if self.share == 1 else f"public@{self.share:g}"


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


def as_spec(student: "StudentSpec | StudentConfig | str") -> "StudentSpec | StudentConfig":
    """A StudentSpec, or a StudentConfig for a scratch model of a custom shape (a bare size name is scratch)."""
    if isinstance(student, (StudentSpec, StudentConfig)):
        return student
    return StudentSpec("scratch", size=student) if student in SIZES else StudentSpec.parse(student)


def student_key(student: "StudentSpec | StudentConfig | str", public: str = "embedded") -> dict:
    """What decides a student's starting weights (for the fingerprint of its training)."""
    spec = as_spec(student)
    if isinstance(spec, StudentConfig):
        return {"init": "scratch", **spec.to_dict()}
    if spec.init == "scratch":
        return {"init": "scratch", **student_config(spec.size).to_dict()}
    from casestudy.models import source_key

    return {"init": str(spec), "public": source_key(public)}


def build_student(student: "StudentSpec | StudentConfig | str", tokenizer: PreTrainedTokenizerBase,
                  public: str = "embedded", seed: int = 0,
                  calibration: Sequence[dict] = ()) -> tuple[LlamaForCausalLM, dict]:
    """The untrained student (fp32, on the CPU) and a description of how it was made.

    `public` is the public model's source ("embedded", a folder or hub id); a pruned
    student measures importance on `calibration` records (the harvest).
    """
    spec = as_spec(student)
    if isinstance(spec, StudentConfig) or spec.init == "scratch":
        config = spec if isinstance(spec, StudentConfig) else student_config(spec.size)
        return make_student(config, tokenizer, seed=seed), {"init": "scratch", **config.to_dict()}
    from casestudy.distiller.students import prune
    from casestudy.models import load_model

    model = load_model(public, device="cpu").model
    info = {"init": str(spec), "public_params": count_params(model)}
    if spec.share < 1:
        model, chosen = prune.cut(model, spec.share, prune.calibration_batches(tokenizer, calibration))
        info.update(layers_kept=list(chosen.keep_layers), mlp_width=chosen.mlp_width)
    return model, info
