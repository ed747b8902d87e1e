"""The decoding batch's KV cache: one preallocated buffer per layer, rows right-aligned.

Every decoding row writes its next key/value at the same column `end`, so one decoding
step is one batched forward with a (rows, 1) input, whatever each row's length. A row
that joins has its prompt's keys/values copied in so that they end at column `end`; the
columns before its `start` are masked out. Buffers are allocated once and grown rarely
(doubling), instead of `DynamicCache`'s `torch.cat` of the whole cache at every step.

It is a transformers `Cache` whose layers implement `CacheLayerMixin`, so the stock model
code (`model(..., cache=...)`) reads and writes it; the engine passes the attention mask
(4-D, one row per sequence) and position ids itself.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import Cache, CacheLayerMixin


class SlotLayer(CacheLayerMixin):
    """One decoder layer's keys and values: `[capacity rows, heads, capacity columns, head_dim]`."""

    def __init__(self, owner: "SlotCache"):
        super().__init__()
        self.owner = owner

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        raise RuntimeError("SlotCache layers are allocated by SlotCache.resize, before the first forward")

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        rows, end = self.owner.rows, self.owner.end
        self.keys[:rows, :, end] = key_states[:, :, 0]
        self.values[:rows, :, end] = value_states[:, :, 0]
        return self.keys[:rows, :, : end + 1], self.values[:rows, :, : end + 1]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.owner.end + query_length, 0

    def get_seq_length(self) -> int:
        return self.owner.end

    def get_max_length(self) -> int:
        return -1 if self.keys is None else self.keys.shape[2]


class SlotCache(Cache):
    """Keys/values of the rows decoding together, rows `[0, rows)`, columns `[0, end)`."""

    def __init__(self, num_layers: int):
        super().__init__(layers=[SlotLayer(self) for _ in range(num_layers)])
        self.rows = 0
        self.end = 0

    @property
    def capacity(self) -> tuple[int, int]:
        first = self.layers[0].keys
        return (0, 0) if first is None else (first.shape[0], first.shape[2])

    def resize(self, rows: int, columns: int, offset: int = 0, like: Cache | None = None) -> None:
        """New buffers of `rows` x `columns`; the used part moves `offset` columns (right if
        positive). `like` (a prefill cache) gives head counts and dtype before the first allocation."""
        used_rows, end = self.rows, self.end
        lo = max(0, -offset)
        for i, layer in enumerate(self.layers):
            for name in ("keys", "values"):
                old = getattr(layer, name)
                ref = old if old is not None else getattr(like.layers[i], name)
                # Zeros, not garbage: masked columns get a weight of exactly 0, and 0 x NaN is NaN.
                new = ref.new_zeros((rows, ref.shape[1], columns, ref.shape[3]))
                if old is not None and used_rows and end > lo:
                    new[:used_rows, :, lo + offset: end + offset] = old[:used_rows, :, lo:end]
                setattr(layer, name, new)
            layer.is_initialized = True
        self.end = end + offset

    def make_room(self, rows: int, first: int, budget: int, extra: int = 1, min_end: int = 0,
                  like: Cache | None = None) -> int:
        """Buffers for `rows` rows and `extra` columns past `end`, with `end >= min_end`;
        the columns before `first` (no row uses them any more) are dropped. Buffers grow
        geometrically, within twice the memory `budget` (tokens). Returns how many columns
        the used part moved (right if positive)."""
        shift = max(0, min_end - (self.end - first)) - first
        needed = self.end + shift + extra
        have_rows, have_cols = self.capacity
        new_rows = max(rows, have_rows if rows <= have_rows else 2 * have_rows)
        new_cols = max(needed, have_cols if needed <= have_cols else 2 * have_cols)
        cap = 2 * max(budget, rows * needed)
        if new_rows * new_cols > cap:
            new_rows = max(rows, cap // new_cols)
        if new_rows * new_cols > cap:
            new_cols = max(needed, cap // new_rows)
        self.resize(new_rows, new_cols, shift, like)
        return shift

    def insert(self, first_row: int, prefill: Cache, sources: torch.Tensor, width: int) -> None:
        """Copy rows `sources` of a prefill cache (all `width` columns, right-aligned) into
        rows `first_row...` so that they end at column `end`."""
        lo = self.end - width
        count = sources.numel()
        for layer, new in zip(self.layers, prefill.layers):
            layer.keys[first_row: first_row + count, :, lo: self.end] = new.keys.index_select(0, sources)
            layer.values[first_row: first_row + count, :, lo: self.end] = new.values.index_select(0, sources)

    def move_rows(self, targets: torch.Tensor, sources: torch.Tensor) -> None:
        """Copy rows `sources` onto rows `targets` (used columns only)."""
        end = self.end
        for layer in self.layers:
            for tensor in (layer.keys, layer.values):
                tensor[:, :, :end].index_copy_(0, targets, tensor[:, :, :end].index_select(0, sources))
