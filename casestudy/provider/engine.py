"""Continuous batching: rows join and leave the decoding batch at every step.

Each `step()` runs, on the device:

1. one decoding forward of every decoding row (a `(rows, 1)` input; `SlotCache` keeps
   their keys/values right-aligned in preallocated buffers);
2. a bounded amount of prefill: prompts of up to `prefill_tokens` tokens whole, padded
   together within `max(prefill_tokens, decoding rows)` tokens; and chunks of one longer
   prompt, only while their time stays under `long_share` (1/2) of the decoding time. A
   long prompt then slows the rows decoding beside it by about 1.5x instead of stalling
   them for its whole prefill (head-of-line blocking);
3. one vectorised draw for all rows: watermark bias -> logprobs and top-k -> temperature
   / top_p -> a Gumbel-max draw whose noise is a hash of (seed, i, token) for the row's
   i-th token (`gumbel_draw`), so a seeded row gives the same tokens whatever shares its
   batch and whenever it joined;
4. one copy to the host: the drawn tokens and which rows are done (EOS, max_tokens).
   Stop strings are checked only for rows that have some, by decoding their last few
   tokens. Logprobs and top-k stay on the device until the row ends: one copy per
   finished row.

A finished row's slot is refilled at the next step. Logprobs are those of the
*watermarked* distribution at temperature 1 (the model's logits plus the green-list
bias, before temperature and top_p). Why this is home-made rather than transformers'
`generate_batch`: see docs/provider.md, "Continuous batching".
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field

import torch
from transformers import DynamicCache
from transformers.generation.logits_process import WatermarkLogitsProcessor

from casestudy.provider.kvcache import SlotCache
from casestudy.provider.settings import WatermarkSettings
from casestudy.models import LoadedModel
from casestudy.provider.watermark import DeviceGreenLists, watermark_processor

GREEDY_BELOW = 1e-4   # temperatures under this are greedy (dividing by ~0 gives inf/NaN)
MAX_TOP_LOGPROBS = 20


@dataclass
class Row:
    """One completion to generate (a request with n=3 is three rows)."""
    prompt_ids: list[int]
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None          # None: a fresh random seed
    stop: list[str] = field(default_factory=list)
    top_logprobs: int = 0            # alternatives to record per token (0..20)
    logprobs: bool = True            # record each chosen token's logprob
    stream: bool = False             # report each drawn token after its step (`Engine.updates`)
    frequency_penalty: float = 0.0   # OpenAI's: logits - count x this - (count > 0) x presence_penalty,
    presence_penalty: float = 0.0    # counting the row's generated tokens (not the prompt)


@dataclass
class Completion:
    token_ids: list[int]
    text: str
    finish_reason: str                # "stop" or "length"
    logprobs: list[float]             # of each chosen token ([] when the row asked for none)
    top_ids: list[list[int]]          # per token, the `top_logprobs` most likely ids
    top_logprobs: list[list[float]]


# --- counter-based noise -------------------------------------------------------------
# Integer hashes in int64 arithmetic that never overflows (32-bit values times 31-bit
# constants), so the same bits come out on the CPU and CUDA.

BUCKET = 256          # tokens per bucket of the two-level draw


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer hash (Wellons' two-round "lowbias32" family) of values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = (x * 0x21F0AAAD) & 0xFFFFFFFF
    x = x ^ (x >> 15)
    x = (x * 0x735A2D97) & 0xFFFFFFFF
    return x ^ (x >> 15)


def row_keys(seed: torch.Tensor, counter: torch.Tensor) -> torch.Tensor:
    """One 32-bit key per (63-bit seed, counter): the row's i-th draw."""
    return _mix32(_mix32(_mix32(counter & 0xFFFFFFFF) ^ (seed & 0xFFFFFFFF)) ^ ((seed >> 32) & 0xFFFFFFFF))


def counter_gumbel(keys: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Standard Gumbel noise for each (row key, index) pair: `keys` [rows], `index` [rows, n]."""
    h = _mix32(keys[:, None] ^ _mix32(index & 0xFFFFFFFF))
    u = ((h >> 9) * 2 + 1).to(torch.float32) * (1.0 / (1 << 24))   # in (0, 1), 23 bits
    return -torch.log(-torch.log(u))


def gumbel_draw(z: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """A token per row with probability softmax(z), from the row's key alone.

    Two-level Gumbel-max: a bucket of `BUCKET` tokens drawn by its log-mass, then a token
    within it, each with its own counter-based noise. Unlike an inverse-CDF draw (where a
    1e-7 change of the logits, e.g. from another batch size, moves every boundary of the
    CDF and flips the draw for a few percent of tokens), this flips only if the two best
    noisy scores are within ~1e-7 of each other. It also needs no softmax or cumsum.
    """
    rows, vocab = z.shape
    pad = (-vocab) % BUCKET
    if pad:
        z = torch.nn.functional.pad(z, (0, pad), value=float("-inf"))
    buckets = z.view(rows, -1, BUCKET)
    mass = buckets.logsumexp(-1)
    ids = torch.arange(mass.shape[1], device=z.device).expand(rows, -1)
    bucket = (mass + counter_gumbel(_mix32(keys ^ 0x1B873593), ids)).argmax(-1)
    within = buckets[torch.arange(rows, device=z.device), bucket]
    token_ids = bucket[:, None] * BUCKET + torch.arange(BUCKET, device=z.device)
    pick = (within + counter_gumbel(_mix32(keys ^ 0x68E31DA4), token_ids)).argmax(-1)
    return bucket * BUCKET + pick


def eos_token_ids(loaded: LoadedModel) -> set[int]:
    ids = loaded.model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(loaded.tokenizer.eos_token_id)
    return ids


@dataclass(eq=False)
class _Live:
    """A row inside the engine, from `add` to its completion."""
    key: object
    row: Row
    seed: int
    record: int
    width: int                        # prompt + max_new_tokens: the columns it may need
    done: int = 0                     # prompt tokens prefilled so far (chunked prefill)
    cache: DynamicCache | None = None # its own cache while its prompt is prefilled in chunks
    start: int = 0                    # its first column in the slot cache
    joined: int = 0                   # the engine step that drew its first token
    last: int = 0                     # its latest token (the watermark's context)
    tokens: list[int] | None = None   # generated tokens, kept on the host only for stop strings
    window: int = 0                   # tokens decoded per stop-string check
    stopped: bool = False

    @property
    def remaining(self) -> int:
        return len(self.row.prompt_ids) - self.done


@dataclass(frozen=True)
class Update:
    """A token drawn for a streaming row in the last step (EOS and tokens past a stop
    string included: the row's `Completion` says where it ends)."""
    key: object
    token_id: int
    logprob: float | None             # None when the row asked for no logprobs
    top_ids: list[int]
    top_logprobs: list[float]


@dataclass(eq=False)
class _Joining:
    """Rows whose prefill ended this step: `cache` row `sources[i]` holds row i's prompt."""
    lives: list[_Live]
    cache: DynamicCache
    sources: torch.Tensor
    width: int                        # columns of `cache` (the padded prompt length)
    logits: torch.Tensor              # [len(lives), vocab]


class _Outputs:
    """Per-row records of drawn tokens, logprobs and top-k, on the device until a row ends."""

    def __init__(self, device: torch.device):
        self.device = device
        self.tokens = self.logprobs = self.top_values = self.top_ids = None
        self.counts = None           # [records, vocab] generated-token counts, once a row has penalties
        self.free: list[int] = []
        self.count = 0

    def allocate(self) -> int:
        if self.free:
            return self.free.pop()
        self.count += 1
        return self.count - 1

    def ensure(self, length: int, k: int, vocab: int = 0) -> None:
        rows = max(self.count, 1)
        have_rows = 0 if self.tokens is None else self.tokens.shape[0]
        have_len = 0 if self.tokens is None else self.tokens.shape[1]
        have_k = 0 if self.top_values is None else self.top_values.shape[2]
        if vocab and self.counts is None:
            self.counts = torch.zeros((max(rows, have_rows), vocab), dtype=torch.float32, device=self.device)
        if rows <= have_rows and length <= have_len and k <= have_k:
            return
        rows, length = max(rows, 2 * have_rows), max(length, have_len)
        k = max(k, have_k)

        def grow(old, shape, dtype):
            new = torch.zeros(shape, dtype=dtype, device=self.device)
            if old is not None:
                new[tuple(slice(0, s) for s in old.shape)] = old
            return new

        self.tokens = grow(self.tokens, (rows, length), torch.long)
        if self.counts is not None:
            self.counts = grow(self.counts, (rows, self.counts.shape[1]), torch.float32)
        self.logprobs = grow(self.logprobs, (rows, length), torch.float32)
        if k:
            self.top_values = grow(self.top_values, (rows, length, k), torch.float32)
            self.top_ids = grow(self.top_ids, (rows, length, k), torch.int32)


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
        self.watermark = watermark_processor(watermark, self.vocab_size) if watermark else None
        self.green = (DeviceGreenLists(self.watermark, self.device)
                      if self.watermark is not None and self.watermark.seeding_scheme == "lefthash" else None)
        self.eos_ids = eos_token_ids(loaded)
        self._eos = torch.tensor(sorted(self.eos_ids), dtype=torch.long, device=self.device)
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.max_batch_tokens = max_batch_tokens
        # Prompts longer than this go in chunks; at least this many prompt tokens per step.
        self.prefill_tokens = prefill_tokens or (2048 if self.device.type == "cuda" else 256)
        self.prefill_max = max(prefill_max, self.prefill_tokens)
        self.long_share = long_share      # a long prompt's prefill time / decoding time, at most
        self.chunk_s = 0.1                # seconds per chunk of a long prompt alone in the engine
        if self.model.config._attn_implementation not in ("sdpa", "eager"):
            self.model.set_attn_implementation("sdpa")  # the engine passes 4-D masks
        self._bool_mask = self.model.config._attn_implementation == "sdpa"
        self._num_layers = text_config.num_hidden_layers
        self._keys = itertools.count()
        self.reset()

    # --- rows in and out ---------------------------------------------------------

    def reset(self) -> None:
        """Drop every row (after a failed step)."""
        self.cache = SlotCache(self._num_layers)
        self.outputs = _Outputs(self.device)
        self.prefilling: list[_Live] = []
        self.slots: list[_Live] = []
        self.steps = 0
        self.last_batch = 0              # rows that drew a token in the last step
        self.updates: list[Update] = []  # the streaming rows' tokens of the last step
        self._credit = 0.0               # seconds a long prompt's chunks may take now
        self._chunk = {False: None, True: None}   # tokens per chunk of a long prompt: alone, shared
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
        live = _Live(key, row, seed % (1 << 63), self.outputs.allocate(), len(row.prompt_ids) + row.max_new_tokens,
                     last=row.prompt_ids[-1])
        if row.stop or (self.watermark is not None and self.green is None):
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
        started = self._clock() if self.prefilling else 0.0
        logits = [self._decode()] if decoding else []
        joining = self._prefill(decoding, self._clock() - started if self.prefilling else 0.0)
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

    def _clock(self) -> float:
        """Seconds of work: this thread's CPU time on the CPU (steady when other processes
        compete for the cores), wall time after a sync on CUDA."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return time.perf_counter()
        return time.thread_time()

    def _mask(self, allowed: torch.Tensor) -> torch.Tensor:
        """A 4-D attention mask from a boolean [batch, q, k] one, in the form the attention takes."""
        allowed = allowed[:, None]
        if self._bool_mask:
            return allowed
        zero = torch.zeros((), dtype=self.model.dtype, device=self.device)
        return torch.where(allowed, zero, torch.finfo(self.model.dtype).min)

    def _decode(self) -> torch.Tensor:
        cache, rows = self.cache, len(self.slots)
        if cache.end + 1 > cache.capacity[1]:
            self._make_room(rows)
            if self._dirty:
                self._refresh()
        columns = torch.arange(cache.end + 1, device=self.device)
        allowed = (columns[None, :] >= self._start[:, None])[:, None, :]
        positions = (cache.end - self._start)[:, None]
        out = self.model(input_ids=self._next[:, None], attention_mask=self._mask(allowed),
                         position_ids=positions, cache=cache, use_cache=True)
        cache.end += 1
        return out.logits[:, -1].float()

    def _make_room(self, rows: int, extra: int = 1, min_end: int = 0, like=None) -> None:
        """Buffers for `rows` rows and `extra` columns past `end`, with `end >= min_end`.
        Columns no row uses any more are dropped; buffers grow geometrically, within twice
        the memory budget."""
        cache = self.cache
        first = min((s.start for s in self.slots), default=0) if cache.rows else 0
        shift = max(0, min_end - (cache.end - first)) - first
        needed = cache.end + shift + extra
        have_rows, have_cols = cache.capacity
        new_rows = max(rows, have_rows if rows <= have_rows else 2 * have_rows)
        new_cols = max(needed, have_cols if needed <= have_cols else 2 * have_cols)
        cap = 2 * max(self.max_batch_tokens, rows * needed)
        if new_rows * new_cols > cap:
            new_rows = max(rows, cap // new_cols)
        if new_rows * new_cols > cap:
            new_cols = max(needed, cap // new_rows)
        cache.resize(new_rows, new_cols, shift, like)
        if shift:
            for s in self.slots:
                s.start += shift
            self._dirty = True

    def _plan(self, budget: int) -> tuple[list[_Live], _Live | None]:
        """This step's prefill: prompts of at most `prefill_tokens` tokens prefilled whole,
        padded together within `budget`; and the oldest longer prompt, in chunks."""
        long = next((r for r in self.prefilling if r.done), None) or \
            next((r for r in self.prefilling if r.remaining > self.prefill_tokens), None)
        group, prompts, width = [], set(), 0
        for r in self.prefilling:
            if r is long or r.done or r.remaining > self.prefill_tokens:
                continue
            key = tuple(r.row.prompt_ids)
            if key not in prompts:
                wider = max(width, len(key))
                if prompts and (len(prompts) + 1) * wider > budget:
                    break
                prompts.add(key)
                width = wider
            group.append(r)
        return group, long

    def _prefill(self, decoding: int, decode_s: float) -> list[_Joining]:
        """Prefill within this step's share. Prompts of up to `prefill_tokens` are prefilled
        whole, padded together within a token budget (as many tokens as rows decode, at
        least `prefill_tokens`; `prefill_max` when none decode). A longer prompt goes in
        chunks: while other rows decode or wait for their first token, only as long as its
        chunks' time stays under `long_share` of the decoding time, each chunk sized to
        take about one decoding step; alone, in chunks of about `chunk_s` seconds, so that
        a newcomer waits for one chunk at most."""
        if not self.prefilling:
            return []
        budget = self.prefill_max if decoding == 0 else max(self.prefill_tokens, decoding)
        group, long = self._plan(budget)
        joining = []
        if group:
            joining.append(self._prefill_group(group))
        if long is None:
            self._credit, self._chunk = 0.0, {False: None, True: None}
        else:
            contended = decoding > 0 or bool(group)
            if contended:
                self._credit = min(self._credit + self.long_share * decode_s, decode_s)
            if not contended or self._credit > 0:
                size = self._chunk[contended] or min(64, self.prefill_tokens)
                started = self._clock()
                ready = self._prefill_chunk(long, size)
                spent = self._clock() - started
                if contended:
                    self._credit -= spent
                target = decode_s if contended else self.chunk_s
                if target > 0:
                    scale = min(8.0, max(0.25, target / max(spent, 1e-6)))
                    self._chunk[contended] = int(min(self.prefill_max, max(16, size * scale)))
                if ready is not None:
                    joining.append(ready)
        taken = {id(live) for g in joining for live in g.lives}
        self.prefilling = [live for live in self.prefilling if id(live) not in taken]
        return joining

    def _prefill_group(self, group: list[_Live]) -> _Joining:
        prompts: dict[tuple[int, ...], int] = {}
        for live in group:
            prompts.setdefault(tuple(live.row.prompt_ids), len(prompts))
        width = max(len(p) for p in prompts)
        ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        pad = torch.tensor([width - len(p) for p in prompts])
        for i, p in enumerate(prompts):
            ids[i, width - len(p):] = torch.tensor(p)
        ids, pad = ids.to(self.device), pad.to(self.device)
        steps = torch.arange(width, device=self.device)
        positions = (steps[None, :] - pad[:, None]).clamp(min=0)
        causal = steps[None, :] <= steps[:, None]
        # Padding is never attended to; a padding query attends to itself (no all-masked row, no NaN).
        allowed = causal[None] & ((steps[None, None, :] >= pad[:, None, None]) | torch.eye(width, dtype=torch.bool,
                                                                                         device=self.device)[None])
        cache = DynamicCache()
        out = self.model(input_ids=ids, attention_mask=self._mask(allowed), position_ids=positions,
                         cache=cache, use_cache=True, logits_to_keep=1)
        sources = torch.tensor([prompts[tuple(live.row.prompt_ids)] for live in group], device=self.device)
        logits = out.logits[:, -1].float().index_select(0, sources)
        return _Joining(group, cache, sources, width, logits)

    def _prefill_chunk(self, live: _Live, size: int) -> _Joining | None:
        begin, end = live.done, min(live.done + size, len(live.row.prompt_ids))
        if live.cache is None:
            live.cache = DynamicCache()
        ids = torch.tensor(live.row.prompt_ids[begin:end], device=self.device)[None]
        queries = torch.arange(begin, end, device=self.device)
        allowed = torch.arange(end, device=self.device)[None, :] <= queries[:, None]
        out = self.model(input_ids=ids, attention_mask=self._mask(allowed[None]), position_ids=queries[None],
                         cache=live.cache, use_cache=True, logits_to_keep=1)
        live.done = end
        if live.remaining:
            return None
        cache, live.cache = live.cache, None
        sources = torch.zeros(1, dtype=torch.long, device=self.device)
        return _Joining([live], cache, sources, end, out.logits[:, -1].float())

    def _join(self, group: _Joining) -> None:
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
            self.outputs.counts[torch.tensor([live.record for live in group.lives], device=self.device)] = 0
        self._dirty = True

    def _refresh(self) -> None:
        """Per-row settings as device tensors, rebuilt when rows joined or left."""
        slots, device = self.slots, self.device
        ints = torch.tensor([[s.start, s.seed, s.row.max_new_tokens, s.record, self.steps - s.joined]
                             for s in slots], dtype=torch.long).to(device)
        self._start, self._seed, self._max_new, self._record, self._count = ints.unbind(1)
        temps = [s.row.temperature for s in slots]
        greedy = [t < GREEDY_BELOW or s.row.top_p <= 0 for t, s in zip(temps, slots)]
        floats = torch.tensor([[1.0 if g else t, s.row.top_p] for g, t, s in zip(greedy, temps, slots)])
        self._temperature, self._top_p = floats.to(device).unbind(1)
        self._greedy = torch.tensor(greedy).to(device)
        self._all_greedy = all(greedy)
        self._any_greedy = any(greedy)
        self._scaled = any(t != 1.0 for t, g in zip(temps, greedy) if not g)
        self._nucleus = any(s.row.top_p < 1.0 for s, g in zip(slots, greedy) if not g)
        self._want_logprobs = any(s.row.logprobs for s in slots)
        self._k = max(s.row.top_logprobs for s in slots if s.row.logprobs) if self._want_logprobs else 0
        self._penalized = any(s.row.frequency_penalty or s.row.presence_penalty for s in slots)
        if self._penalized:
            self._frequency, self._presence = torch.tensor(
                [[s.row.frequency_penalty, s.row.presence_penalty] for s in slots]).to(device).unbind(1)
        self._prev = [s.last for s in slots]
        self._tracked = [i for i, s in enumerate(slots) if s.tokens is not None]
        self._streaming = [i for i, s in enumerate(slots) if s.row.stream]
        self._dirty = False

    def _watermarked(self, scores: torch.Tensor) -> torch.Tensor:
        if self.watermark is None:
            return scores
        width = self.watermark.context_width
        lengths = ([len(s.row.prompt_ids) + self.steps - s.joined for s in self.slots] if width > 1
                   else [width] * len(self.slots))
        if self.green is not None:
            return self.green.add(scores, self.green.rows(self._prev, lengths))
        # "selfhash": transformers' own per-row code on the CPU (slow, as it always was).
        out = scores.cpu()
        for i, live in enumerate(self.slots):
            if lengths[i] >= width:
                context = (live.row.prompt_ids + (live.tokens or []))[-width:]
                out[i:i + 1] = WatermarkLogitsProcessor.__call__(self.watermark, torch.tensor([context]), out[i:i + 1])
        return out.to(scores.device)

    def _draw(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        counts = self.outputs.counts
        if self._penalized:  # before the watermark, as transformers orders its processors
            seen = counts.index_select(0, self._record)
            logits = logits - seen * self._frequency[:, None] - (seen > 0) * self._presence[:, None]
        scores = self._watermarked(logits)
        lse = scores.logsumexp(-1, keepdim=True) if self._want_logprobs else None
        if self._all_greedy:
            tokens = scores.argmax(-1)
        else:
            z = scores / self._temperature[:, None] if self._scaled else scores
            if self._nucleus:
                probs = torch.softmax(z, dim=-1)
                sorted_probs, order = probs.sort(dim=-1, descending=True)
                above = sorted_probs.cumsum(-1) - sorted_probs   # mass strictly above each token
                outside = torch.zeros_like(probs, dtype=torch.bool).scatter_(1, order, above >= self._top_p[:, None])
                z = z.masked_fill(outside, float("-inf"))
            tokens = gumbel_draw(z, row_keys(self._seed, self._count))
            if self._any_greedy:
                tokens = torch.where(self._greedy, scores.argmax(-1), tokens)
        out, at = self.outputs, (self._record, self._count)
        out.tokens.index_put_(at, tokens)
        if lse is not None:
            out.logprobs.index_put_(at, scores.gather(1, tokens[:, None])[:, 0] - lse[:, 0])
            if self._k:
                values, ids = scores.topk(self._k, dim=-1)
                out.top_values[:, :, : self._k].index_put_(at, values - lse)
                out.top_ids[:, :, : self._k].index_put_(at, ids.to(torch.int32))
        if counts is not None:
            counts.index_put_((self._record, tokens), torch.ones_like(tokens, dtype=counts.dtype), accumulate=True)
        done = (self._count + 1 >= self._max_new) | torch.isin(tokens, self._eos)
        return tokens, done

    def _after_draw(self, tokens: torch.Tensor, done: torch.Tensor) -> list[tuple[object, Completion]]:
        drawn, finished = torch.stack([tokens, done.long()]).tolist()   # the step's one copy to the host
        if self._streaming:
            self._report(drawn)
        self.steps += 1
        self._count += 1
        self._prev = drawn
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
        results = self._complete([self.slots[i] for i in ended])
        self._remove(ended, tokens)
        return results

    def _report(self, drawn: list[int]) -> None:
        """`updates` for the streaming rows: their tokens, and their logprobs and top-k
        (a second, small copy to the host, only when streaming rows want them)."""
        rows = self._streaming
        lives = [self.slots[i] for i in rows]
        want = [i for i, live in zip(rows, lives) if live.row.logprobs]
        lp, top_ids, top_values = {}, {}, {}
        if want:
            index = torch.tensor(want, device=self.device)
            at = (self._record.index_select(0, index), self._count.index_select(0, index))
            out = self.outputs
            lp = dict(zip(want, out.logprobs[at].tolist()))
            k = max(self.slots[i].row.top_logprobs for i in want)
            if k:
                top_values = dict(zip(want, out.top_values[at][:, :k].tolist()))
                top_ids = dict(zip(want, out.top_ids[at][:, :k].tolist()))
        for i, live in zip(rows, lives):
            k = live.row.top_logprobs if live.row.logprobs else 0
            self.updates.append(Update(live.key, drawn[i], lp.get(i), top_ids[i][:k] if k else [],
                                       top_values[i][:k] if k else []))

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
            self.cache.move_rows(torch.tensor(holes, device=self.device), torch.tensor(movers, device=self.device))
        for i in ended:
            self.outputs.free.append(self.slots[i].record)
        self.slots = [self.slots[i] for i in order]
        self.cache.rows = keep
        self._next = tokens.index_select(0, torch.tensor(order, dtype=torch.long, device=self.device))
        if not keep:
            self.cache.end = 0
        self._dirty = True

    def _complete(self, lives: list[_Live]) -> list[tuple[object, Completion]]:
        """Completions of finished rows: their records copied to the host once."""
        records = torch.tensor([live.record for live in lives], device=self.device)
        lengths = [self.steps - live.joined for live in lives]
        span = max(lengths)
        out = self.outputs
        tokens = out.tokens.index_select(0, records)[:, :span].tolist()
        want_lp = any(live.row.logprobs for live in lives)
        logprobs = out.logprobs.index_select(0, records)[:, :span].tolist() if want_lp else None
        k = max(live.row.top_logprobs for live in lives if live.row.logprobs) if want_lp else 0
        top_values = out.top_values.index_select(0, records)[:, :span, :k].tolist() if k else None
        top_ids = out.top_ids.index_select(0, records)[:, :span, :k].tolist() if k else None
        results = []
        for i, (live, n) in enumerate(zip(lives, lengths)):
            completion = self._finish(live, tokens[i][:n])
            m, k_row = len(completion.token_ids), live.row.top_logprobs
            if live.row.logprobs:
                completion.logprobs = logprobs[i][:m]
                completion.top_ids = [t[:k_row] for t in top_ids[i][:m]] if k_row else [[] for _ in range(m)]
                completion.top_logprobs = [t[:k_row] for t in top_values[i][:m]] if k_row else [[] for _ in range(m)]
            results.append((live.key, completion))
        return results

    def _finish(self, live: _Live, generated: list[int]) -> Completion:
        """Tokens and text up to EOS, max_new_tokens or the first stop string (excluded)."""
        row = live.row
        finish = "length"
        tokens = generated
        if tokens and tokens[-1] in self.eos_ids:
            tokens, finish = tokens[:-1], "stop"
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        if row.stop:
            hits = [(text.find(s), s) for s in row.stop if s in text]
            if hits:
                cut = min(hits)[0]
                text, finish = text[:cut], "stop"
                # Keep the fewest tokens whose text reaches the stop string.
                for j in range(1, len(tokens) + 1):
                    if len(self.tokenizer.decode(tokens[:j], skip_special_tokens=True)) > cut:
                        tokens = tokens[:j]
                        break
        return Completion(tokens, text, finish, [], [], [])
