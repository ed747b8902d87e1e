"""The engine: rows join and leave the decoding batch at every step.

Each `step()` runs, on the device:

1. one decoding forward of every decoding row (a `(rows, 1)` input; `SlotCache` keeps
   their keys/values right-aligned in preallocated buffers);
2. a bounded amount of prefill (`PrefillSchedule`): prompts of up to `prefill_tokens`
   tokens whole, padded together; chunks of one longer prompt, only while their time stays
   under `long_share` (1/2) of the decoding time;
3. one vectorised draw for all rows (`Sampling`): penalties -> watermark bias -> logprobs
   and top-k -> temperature / top_p -> a Gumbel-max draw whose noise is a hash of
   (seed, i, token) for the row's i-th token, so a seeded row gives the same tokens
   whatever shares its batch and whenever it joined;
4. one copy to the host: the drawn tokens and which rows are done (EOS, max_tokens).
   Stop strings are checked only for rows that have some, by decoding their last few
   tokens. Logprobs and top-k stay on the device (`Outputs`) until the row ends: one copy
   per finished row.

A finished row's slot is refilled at the next step. Logprobs are those of the
*watermarked* distribution at temperature 1 (the model's logits plus the green-list
bias, before temperature and top_p).
"""

from __future__ import annotations

import itertools
import secrets

import torch

from casestudy.models import LoadedModel
from casestudy.provider.serving.forward import Forward, Joining
from casestudy.provider.serving.kvcache import SlotCache
from casestudy.provider.serving.outputs import Outputs, eos_token_ids, finish
from casestudy.provider.serving.prefill import PrefillSchedule
from casestudy.provider.serving.rows import Completion, Live, Row, Update
from casestudy.provider.serving.sampling import Marking, Sampling, upload
from casestudy.provider.settings import WatermarkSettings


class Engine:
    """The model, the rows being generated, and one `step()` at a time (one thread)."""

    def __init__(self, loaded: LoadedModel, watermark: WatermarkSettings | None, *,
                 max_batch_tokens: int = 65_536, prefill_tokens: int | None = None, prefill_max: int = 1024,
                 long_share: float = 0.5):
        self.loaded = loaded
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.device = loaded.device.torch
        text_config = self.model.config.get_text_config()
        self.vocab_size = text_config.vocab_size
        self.context_window = getattr(text_config, "max_position_embeddings", None)
        self.marking = Marking(watermark, self.vocab_size, self.device) if watermark else None
        self.eos_ids = eos_token_ids(loaded)
        self._eos = torch.tensor(sorted(self.eos_ids), dtype=torch.long, device=self.device)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.max_batch_tokens = max_batch_tokens
        self.forward = Forward(self.model, self.device, self.pad_id)
        self.schedule = PrefillSchedule(self.forward, prefill_tokens or (2048 if self.device.type == "cuda" else 256),
                                        prefill_max, long_share)
        self._num_layers = text_config.num_hidden_layers
        self._keys = itertools.count()
        self.reset()

    # --- rows in and out ---------------------------------------------------------

    def reset(self) -> None:
        """Drop every row (after a failed step)."""
        self.cache = SlotCache(self._num_layers)
        self.outputs = Outputs(self.device)
        self.prefilling: list[Live] = []
        self.slots: list[Live] = []
        self.steps = 0
        self.last_batch = 0              # rows that drew a token in the last step
        self.updates: list[Update] = []  # the streaming rows' tokens of the last step
        self.schedule.reset()
        self._dirty = True
        self._next = torch.zeros(0, dtype=torch.long, device=self.device)

    @property
    def in_flight(self) -> int:
        """Rows added and not finished yet."""
        return len(self.prefilling) + len(self.slots)

    @property
    def decoding(self) -> int:
        return len(self.slots)

    def width_needed(self) -> int:
        return max((live.width for live in itertools.chain(self.prefilling, self.slots)), default=0)

    def capacity_problem(self, prompt_len: int, max_new_tokens: int, n: int) -> str | None:
        """Why a request of `n` rows can never fit the memory budget, or None."""
        need = n * (prompt_len + max_new_tokens)
        if need <= self.max_batch_tokens:
            return None
        return (f"This request needs n x (prompt + max_tokens) = {n} x ({prompt_len} + {max_new_tokens}) = {need} "
                f"tokens of KV cache, above this server's budget of {self.max_batch_tokens} per batch. "
                "Reduce n, max_tokens or the messages.")

    def fits(self, rows: list[Row]) -> bool:
        """Whether `rows` can join now: the decoding batch's KV cache (rows x the widest
        row's prompt + max_new_tokens, as rows are right-aligned) stays within the budget."""
        if not self.in_flight:
            return True
        width = max([self.width_needed()] + [len(r.prompt_ids) + r.max_new_tokens for r in rows])
        return (self.in_flight + len(rows)) * width <= self.max_batch_tokens

    def add(self, row: Row, key=None):
        """Queue `row` for generation; its completion comes out of `step()` under `key`."""
        if not row.prompt_ids:
            raise ValueError("a row needs at least one prompt token")
        if row.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, not {row.max_new_tokens}")
        key = next(self._keys) if key is None else key
        seed = row.seed if row.seed is not None else secrets.randbits(63)
        live = Live(key, row, seed % (1 << 63), self.outputs.allocate(), len(row.prompt_ids) + row.max_new_tokens,
                    last=row.prompt_ids[-1])
        if row.stop or (self.marking is not None and self.marking.needs_tokens):
            live.tokens = []  # kept on the host: stop strings, or the "selfhash" watermark's context
        if row.stop:
            live.window = max(len(s.encode()) for s in row.stop) + 3
        self.prefilling.append(live)
        return key

    @torch.inference_mode()
    def cancel(self, keys) -> int:
        """Drop the rows under `keys` (prefilling or decoding); returns how many were dropped."""
        keys = set(keys)
        dropped = [live for live in self.prefilling if live.key in keys]
        self.prefilling = [live for live in self.prefilling if live.key not in keys]
        gone = [i for i, live in enumerate(self.slots) if live.key in keys]
        if gone:
            self._remove(gone, self._next)
        for live in dropped:
            self.outputs.free.append(live.record)
        return len(dropped) + len(gone)

    @torch.inference_mode()
    def generate(self, rows: list[Row]) -> list[Completion]:
        """All `rows` at once, stepped until every one has finished."""
        keys = [self.add(row) for row in rows]
        results: dict = {}
        while len(results) < len(keys):
            results.update(self.step())
        return [results[key] for key in keys]

    # --- one step ------------------------------------------------------------------

    @torch.inference_mode()
    def step(self) -> list[tuple[object, Completion]]:
        """One decoding step and a bounded prefill; returns the rows that finished. The
        tokens that streaming rows drew are in `updates` until the next step."""
        self.updates = []
        if self._dirty and self.slots:
            self._refresh()
        decoding = len(self.slots)
        clock = self.forward.clock
        started = clock() if self.prefilling else 0.0
        logits = [self._decode()] if decoding else []
        joining = self.schedule.run(self.prefilling, decoding, clock() - started if self.prefilling else 0.0)
        taken = {id(live) for group in joining for live in group.lives}
        self.prefilling = [live for live in self.prefilling if id(live) not in taken]
        for group in joining:
            self._join(group)
            logits.append(group.logits)
        if not self.slots:
            return []
        if self._dirty:
            self._refresh()
        self.last_batch = len(self.slots)
        tokens, done = self._draw(logits[0] if len(logits) == 1 else torch.cat(logits))
        return self._after_draw(tokens, done)

    def _decode(self) -> torch.Tensor:
        cache = self.cache
        if cache.end + 1 > cache.capacity[1]:
            self._make_room(len(self.slots))
            if self._dirty:
                self._refresh()
        return self.forward.decode(cache, self._next, self._start)

    def _make_room(self, rows: int, extra: int = 1, min_end: int = 0, like=None) -> None:
        """Cache buffers for `rows` rows and `extra` columns past `end` (`SlotCache.make_room`)."""
        first = min((s.start for s in self.slots), default=0) if self.cache.rows else 0
        shift = self.cache.make_room(rows, first, self.max_batch_tokens, extra, min_end, like)
        if shift:
            for s in self.slots:
                s.start += shift
            self._dirty = True

    def _join(self, group: Joining) -> None:
        """Put rows whose prefill ended into the decoding batch, prompts ending at column `end`."""
        cache, count = self.cache, len(group.lives)
        if not self.slots:
            cache.rows, cache.end = 0, 0
        if cache.rows == 0:
            cache.end = max(cache.end, group.width)
        rows = cache.rows + count
        if rows > cache.capacity[0] or cache.end < group.width or cache.end + 1 > cache.capacity[1]:
            self._make_room(rows, 1, group.width, like=group.cache)
        cache.insert(cache.rows, group.cache, group.sources, group.width)
        cache.rows = rows
        for live in group.lives:
            live.start = cache.end - len(live.row.prompt_ids)
            live.joined = self.steps
            self.slots.append(live)
        penalized = any(live.row.frequency_penalty or live.row.presence_penalty for live in group.lives)
        self.outputs.ensure(max(live.row.max_new_tokens for live in self.slots),
                            max(live.row.top_logprobs for live in self.slots), self.vocab_size if penalized else 0)
        if self.outputs.counts is not None:  # a row's counts start at zero (its record may be reused)
            self.outputs.counts[upload(torch.tensor([live.record for live in group.lives]), self.device)] = 0
        self._dirty = True

    def _refresh(self) -> None:
        """Per-row settings as device tensors, rebuilt when rows joined or left."""
        slots = self.slots
        ints = upload(torch.tensor([[s.start, s.row.max_new_tokens, s.record, self.steps - s.joined, s.last]
                                    for s in slots], dtype=torch.long), self.device)
        self._start, self._max_new, self._record, self._count, self._prev_t = ints.unbind(1)
        self._sampling = Sampling.of(slots, self.device)
        self._prev = [s.last for s in slots]
        self._tracked = [i for i, s in enumerate(slots) if s.tokens is not None]
        self._streaming = [i for i, s in enumerate(slots) if s.row.stream]
        self._dirty = False

    def _draw(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sampling = self._sampling
        if sampling.penalized:  # before the watermark, as transformers orders its processors
            logits = sampling.penalize(logits, self.outputs.counts.index_select(0, self._record))
        scores = (self.marking.marked(logits, sampling, self.slots, self._prev, self._prev_t, self.steps)
                  if self.marking else logits)
        lse = scores.logsumexp(-1, keepdim=True) if sampling.want_logprobs else None
        tokens = sampling.choose(scores, self._count)
        self.outputs.store(self._record, self._count, tokens, scores, lse, sampling.k)
        done = (self._count + 1 >= self._max_new) | torch.isin(tokens, self._eos)
        return tokens, done

    def _after_draw(self, tokens: torch.Tensor, done: torch.Tensor) -> list[tuple[object, Completion]]:
        drawn, finished = torch.stack([tokens, done.long()]).tolist()   # the step's one copy to the host
        if self._streaming:
            self.updates += self.outputs.updates(self.slots, self._streaming, drawn, self._record, self._count)
        self.steps += 1
        self._count += 1
        self._prev, self._prev_t = drawn, tokens
        for i in self._tracked:
            live = self.slots[i]
            live.tokens.append(drawn[i])
            if live.row.stop and not finished[i]:
                text = self.tokenizer.decode(live.tokens[-live.window:], skip_special_tokens=True)
                if any(s in text for s in live.row.stop):
                    live.stopped = finished[i] = True
        for live, token in zip(self.slots, drawn):
            live.last = token
        ended = [i for i, flag in enumerate(finished) if flag]
        if not ended:
            self._next = tokens
            return []
        lives = [self.slots[i] for i in ended]
        results = self.outputs.completions(lives, [self.steps - live.joined for live in lives],
                                           lambda row, generated: finish(self.tokenizer, self.eos_ids, row, generated))
        self._remove(ended, tokens)
        return results

    def _remove(self, ended: list[int], tokens: torch.Tensor) -> None:
        """Take rows out of the decoding batch: the last rows move into their slots."""
        gone = set(ended)
        keep = len(self.slots) - len(gone)
        holes = [i for i in ended if i < keep]
        movers = [i for i in range(keep, len(self.slots)) if i not in gone]
        order = list(range(keep))
        for hole, mover in zip(holes, movers):
            order[hole] = mover
        if holes:
            moves = upload(torch.tensor([holes, movers]), self.device)
            self.cache.move_rows(moves[0], moves[1])
        for i in ended:
            self.outputs.free.append(self.slots[i].record)
        self.slots = [self.slots[i] for i in order]
        self.cache.rows = keep
        self._next = tokens.index_select(0, upload(torch.tensor(order, dtype=torch.long), self.device))
        if not keep:
            self.cache.end = 0
        self._dirty = True
