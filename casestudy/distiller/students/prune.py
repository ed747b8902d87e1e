"""Smaller students cut from the public model, as Minitron and ShortGPT do, then healed by training.

Two importance measures, both computed on a few of the distiller's own records (calibration):

- depth (ShortGPT, Men et al. 2024): a decoder layer's Block Influence is
  1 - mean cos(h_in, h_out) over tokens; the layers that change their input least go first.
- width (Minitron, Muralidharan et al. 2024): an MLP channel's importance is the mean
  squared activation entering `down_proj`; every layer keeps its most active channels.

`prune_to(model, share, ...)` removes MLP channels first, down to `min_mlp_share` of the
width (Minitron found width pruning kinder than depth at equal size), then whole layers,
until the model has at most `share` of its parameters. The embedding (49,152 x 576 = 28M
of SmolLM2-135M's 135M) is kept whole: the tokenizer is the teacher's.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch

from casestudy.chat import chat_text


@dataclass(frozen=True)
class PrunePlan:
    keep_layers: tuple[int, ...]   # indices of the decoder layers that stay, in order
    mlp_width: int                 # MLP channels kept in every layer
    params: int                    # parameters after pruning
    share: float                   # of the original model's parameters


@torch.no_grad()
def importance(model, batches: Sequence[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    """Block Influence per layer (L,) and mean squared MLP activation per layer and channel (L, I).

    batches: dicts with `input_ids` and `attention_mask` (padding is left out of both measures).
    """
    layers = model.model.layers
    acts = torch.zeros(len(layers), model.config.intermediate_size)
    counts = {"tokens": 0}
    masks = {}

    def hook(index):
        def record(module, args):
            x = args[0].float()
            keep = masks["now"]
            acts[index] += (x[keep] ** 2).sum(0).cpu()
        return record

    handles = [layer.mlp.down_proj.register_forward_pre_hook(hook(i)) for i, layer in enumerate(layers)]
    influence = torch.zeros(len(layers))
    try:
        model.eval()
        for batch in batches:
            keep = batch["attention_mask"].bool()
            masks["now"] = keep.to(next(model.parameters()).device)
            out = model.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                              output_hidden_states=True, use_cache=False)
            hidden = out.hidden_states  # embeddings, then after each layer (the last one normed)
            for i in range(len(layers)):
                h_in, h_out = hidden[i][keep].float(), hidden[i + 1][keep].float()
                if i == len(layers) - 1:  # transformers applies the final norm to the last state
                    continue
                influence[i] += (1 - torch.nn.functional.cosine_similarity(h_in, h_out, dim=-1)).sum().cpu()
            counts["tokens"] += int(keep.sum())
    finally:
        for h in handles:
            h.remove()
    n = max(counts["tokens"], 1)
    influence /= n
    influence[-1] = float("inf")  # the last layer feeds the final norm: never dropped (ShortGPT keeps it too)
    return influence, acts / n


def layer_params(config, mlp_width: int) -> int:
    """Parameters of one decoder layer with `mlp_width` MLP channels."""
    d, heads, kv, hd = config.hidden_size, config.num_attention_heads, config.num_key_value_heads, config.head_dim
    attention = d * heads * hd * 2 + d * kv * hd * 2
    return attention + 3 * d * mlp_width + 2 * d


def plan(model, share: float, influence: torch.Tensor, min_mlp_share: float = 0.5) -> PrunePlan:
    """How much width and depth to remove so that at most `share` of the parameters remain."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], not {share!r}")
    cfg = model.config
    total = sum(p.numel() for p in model.parameters())
    fixed = total - cfg.num_hidden_layers * layer_params(cfg, cfg.intermediate_size)
    budget = share * total
    n_layers = cfg.num_hidden_layers
    floor = max(1, int(cfg.intermediate_size * min_mlp_share))
    width = cfg.intermediate_size
    # Width first, in steps of 64 channels, down to the floor; then whole layers.
    while fixed + n_layers * layer_params(cfg, width) > budget and width - 64 >= floor:
        width -= 64
    while fixed + n_layers * layer_params(cfg, width) > budget and n_layers > 1:
        n_layers -= 1
    order = torch.argsort(influence, descending=True)[:n_layers]
    keep = tuple(sorted(int(i) for i in order))
    params = fixed + n_layers * layer_params(cfg, width)
    return PrunePlan(keep, width, params, params / total)


def calibration_batches(tokenizer, records: Sequence[dict], count: int = 64, batch_size: int = 8,
                        max_len: int = 256) -> list[dict]:
    """Padded batches of the first `count` records (prompt and completion in the chat template)."""
    texts = [chat_text(tokenizer, r["messages"], r["completion"]) for r in list(records)[:count]]
    if not texts:
        raise ValueError("pruning needs calibration records: none were given")
    side, tokenizer.padding_side = tokenizer.padding_side, "right"
    try:
        return [dict(tokenizer(texts[i:i + batch_size], return_tensors="pt", padding=True, truncation=True,
                               max_length=max_len, add_special_tokens=False))
                for i in range(0, len(texts), batch_size)]
    finally:
        tokenizer.padding_side = side


def cut(model, share: float, batches: Sequence[dict], min_mlp_share: float = 0.5):
    """The pruned model (importance measured on `batches`) and its plan."""
    influence, activations = importance(model, batches)
    chosen = plan(model, share, influence, min_mlp_share)
    return apply(model, chosen, activations), chosen


@torch.no_grad()
def apply(model, prune: PrunePlan, activations: torch.Tensor):
    """A new model with only the planned layers and, in each, its most active MLP channels."""
    cfg = copy.deepcopy(model.config)
    cfg.num_hidden_layers = len(prune.keep_layers)
    cfg.intermediate_size = prune.mlp_width
    small = type(model)(cfg).to(next(model.parameters()).dtype)
    small.model.embed_tokens.load_state_dict(model.model.embed_tokens.state_dict())
    small.model.norm.load_state_dict(model.model.norm.state_dict())
    for new_index, old_index in enumerate(prune.keep_layers):
        old, new = model.model.layers[old_index], small.model.layers[new_index]
        channels = torch.argsort(activations[old_index], descending=True)[: prune.mlp_width].sort().values
        new.self_attn.load_state_dict(old.self_attn.state_dict())
        new.input_layernorm.load_state_dict(old.input_layernorm.state_dict())
        new.post_attention_layernorm.load_state_dict(old.post_attention_layernorm.state_dict())
        new.mlp.gate_proj.weight.copy_(old.mlp.gate_proj.weight[channels])
        new.mlp.up_proj.weight.copy_(old.mlp.up_proj.weight[channels])
        new.mlp.down_proj.weight.copy_(old.mlp.down_proj.weight[:, channels])
    small.tie_weights()
    small.generation_config = copy.deepcopy(model.generation_config)
    return small
