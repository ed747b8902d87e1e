"""The frozen trunk of a fine-tune of the top layers, run once per packed row.

With `train_layers=N` the layers below the top N never change, so their output for a
packed row is the same on every pass over the data; the students of one harvest (`sft`
then `topk`) even train on the same rows. `Trunk` runs those layers once per row, keeps
their output, and feeds it to the top layers as `inputs_embeds`. On the 2-core machine a
bf16 step of 6 rows of the public model (18 frozen layers, 12 that train) takes 2.45 s from
kept outputs against 3.25 s without; the workshop's students see each row twice, its dose
students many times. Losses and gradients are bit for bit those of the whole model.

Both halves are views of the model's own decoder (`LlamaModel`-like: `embed_tokens`,
`layers`, `norm`), sharing its weights, so the forward pass is transformers' own
(rotary positions, the packed-sequence mask from `position_ids`). The held-out
cross-entropy measured at the end of each student's training uses a trunk too: every
student fine-tuned from the public model shares its frozen layers.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Sequence

import numpy as np
import torch

from casestudy.distiller.students.packing import Example

# A trunk keeps its rows only while they fit here (fp32 hidden states): the workshop's ~300
# rows of 256 tokens at width 576 take 180 MB.
MAX_BYTES = 2 * 1024**3


def decoder_view(decoder: torch.nn.Module, layers: slice, final_norm: bool) -> torch.nn.Module:
    """A shallow copy of `decoder` that runs only `layers` (shared weights), with or without its final norm."""
    view = copy.copy(decoder)
    view._modules = dict(decoder._modules)  # the copy's own module table; the modules themselves are shared
    view.layers = torch.nn.ModuleList(list(decoder.layers)[layers])
    if not final_norm:
        view.norm = torch.nn.Identity()
    return view


class Trunk:
    """The frozen bottom `depth` layers of `decoder`, one output per row, kept; `top` runs the rest."""

    def __init__(self, decoder: torch.nn.Module, depth: int, rows: dict[int, torch.Tensor] | None = None):
        self.bottom = decoder_view(decoder, slice(0, depth), final_norm=False)
        self.top = decoder_view(decoder, slice(depth, None), final_norm=True)
        self.rows: dict[int, torch.Tensor] = {} if rows is None else rows

    @torch.no_grad()
    def hidden(self, row_ids: Sequence[int], batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The trunk's output for the batch's rows ([B, L, d], fp32), computing the rows not yet kept."""
        todo = [b for b, r in enumerate(row_ids) if r not in self.rows]
        if todo:
            at = torch.tensor(todo, device=batch["input_ids"].device)
            out = self.bottom(input_ids=batch["input_ids"][at], position_ids=batch["position_ids"][at],
                              use_cache=False).last_hidden_state.float()
            for b, h in zip(todo, out):
                self.rows[row_ids[b]] = h
        return torch.stack([self.rows[r] for r in row_ids])


# The rows of the last KEEP trunks built, by key: a student's training rows and the held-out
# rows that every student fine-tuned from the same start is measured on at its end.
KEEP = 2
_kept: dict[str, dict[int, torch.Tensor]] = {}


def trunk_for(decoder: torch.nn.Module, train_layers: int, precision: str, examples: Sequence[Example],
              rows: Sequence[Sequence[int]], max_len: int) -> Trunk | None:
    """The trunk of a top-`train_layers` fine-tune of `decoder`, or None when every layer trains or the
    rows would not fit in MAX_BYTES. A student whose frozen weights are the same, in the same precision,
    packing the same rows, reuses the previous student's outputs."""
    depth = len(decoder.layers) - train_layers
    if not 0 < train_layers < len(decoder.layers) or len(rows) * max_len * decoder.config.hidden_size * 4 > MAX_BYTES:
        return None
    h = hashlib.blake2b(repr((depth, precision, max_len)).encode())
    bottom = [decoder.embed_tokens, *list(decoder.layers)[:depth]]
    for tensor in (t for module in bottom for t in module.state_dict().values()):
        h.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    for row in rows:
        h.update(b"|row|")
        for i in row:
            h.update(np.ascontiguousarray(examples[i].input_ids, dtype=np.int64).tobytes() + b",")
    key = h.hexdigest()
    # views of this student's weights, with the outputs kept for the same frozen weights and rows
    trunk = Trunk(decoder, depth, _kept.pop(key, None))
    _kept[key] = trunk.rows
    while len(_kept) > KEEP:
        _kept.pop(next(iter(_kept)))
    return trunk


def decoder_output(decoder: torch.nn.Module, batch: dict[str, torch.Tensor], trunk: Trunk | None = None,
                   row_ids: Sequence[int] = ()) -> torch.Tensor:
    """The decoder's last hidden states for a packed batch: through `trunk` (the kept outputs of
    rows `row_ids` into the layers above) when given, else the whole decoder."""
    if trunk is not None:
        return trunk.top(inputs_embeds=trunk.hidden(row_ids, batch), position_ids=batch["position_ids"],
                         use_cache=False).last_hidden_state
    return decoder(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                   attention_mask=batch.get("attention_mask"), use_cache=False).last_hidden_state
