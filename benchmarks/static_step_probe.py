"""A probe for issue 29, item 2 (not the engine's code): can a decoding step of the
transformers model code run with static shapes over a preallocated KV cache, so that it can
be captured (CUDA graphs, or `torch.compile`), and is the captured step bit-identical?

The step here is the engine's decode with every shape fixed: `rows` rows (padding rows in
a real engine), all `columns` columns of the buffers attended, keys and values written at a
column held in a device tensor (`index_copy_`), the mask and positions computed on the
device. It compares, at each of `--steps` steps from the same cache state, the eager static
step with the same step compiled (`--backend eager`: dynamo's graph run by eager kernels;
`inductor`: generated kernels) and, on CUDA, replayed from a `torch.cuda.CUDAGraph`.

Found on the CPU (2026-12-02, torch 2.13.0, transformers 5.24): one graph, no break, with
`fullgraph=True`; dynamo's graph equals the eager step bit for bit only when both take the
same GQA branch: transformers' sdpa packs the query heads (`pack_gqa`) in eager for a
one-token query but repeats the keys (`repeat_kv`) under dynamo, ~2e-7 apart; with
`TRANSFORMERS_SDPA_FORCE_GQA=1` (both use SDPA's `enable_gqa`) they are equal. Inductor's
kernels differ by ~2e-7 whatever the branch.

    TRANSFORMERS_SDPA_FORCE_GQA=1 python benchmarks/static_step_probe.py --backend eager
    TRANSFORMERS_SDPA_FORCE_GQA=1 python benchmarks/static_step_probe.py --device cuda --graph
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers.cache_utils import Cache, CacheLayerMixin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout's casestudy


class StaticLayer(CacheLayerMixin):
    def __init__(self, owner: "StaticSlots"):
        super().__init__()
        self.owner = owner

    def lazy_initialization(self, key_states, value_states):
        raise RuntimeError("allocated by StaticSlots")

    def update(self, key_states, value_states, *args, **kwargs):
        self.keys.index_copy_(2, self.owner.end, key_states)       # every row writes column `end`
        self.values.index_copy_(2, self.owner.end, value_states)
        return self.keys, self.values                               # all columns: a fixed shape

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.keys.shape[2], 0

    def get_seq_length(self) -> int:
        return 0

    def get_max_length(self) -> int:
        return self.keys.shape[2]


class StaticSlots(Cache):
    """Right-aligned rows in fixed buffers; the write column `end` is a device tensor."""

    def __init__(self, layers: int, rows: int, heads: int, columns: int, dim: int, device, dtype):
        super().__init__(layers=[StaticLayer(self) for _ in range(layers)])
        for layer in self.layers:
            layer.keys = torch.zeros(rows, heads, columns, dim, device=device, dtype=dtype)
            layer.values = torch.zeros_like(layer.keys)
            layer.is_initialized = True
        self.end = torch.zeros(1, dtype=torch.long, device=device)
        self.columns = torch.arange(columns, device=device)

    def state(self):
        return [(layer.keys.clone(), layer.values.clone()) for layer in self.layers]

    def restore(self, saved) -> None:
        for layer, (keys, values) in zip(self.layers, saved):
            layer.keys.copy_(keys)
            layer.values.copy_(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--columns", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--backend", default="eager", help="torch.compile backend: eager, inductor, none")
    parser.add_argument("--graph", action="store_true", help="also capture a torch.cuda.CUDAGraph (CUDA only)")
    args = parser.parse_args()
    from benchmarks.bench_serving import tiny_model_dir
    from casestudy.models import load_model

    with tempfile.TemporaryDirectory() as tmp:
        source = str(tiny_model_dir(Path(tmp) / "tiny")) if args.model == "tiny" else args.model
        loaded = load_model(source, device=args.device)
    model, device = loaded.model, loaded.device.torch
    model.set_attn_implementation("sdpa")
    config = model.config.get_text_config()
    dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    cache = StaticSlots(config.num_hidden_layers, args.rows, config.num_key_value_heads, args.columns, dim,
                        device, model.dtype)

    def step(tokens: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
        end, columns = cache.end, cache.columns
        allowed = (columns[None, :] >= start[:, None]) & (columns[None, :] <= end)
        out = model(input_ids=tokens[:, None], attention_mask=allowed[:, None, None, :],
                    position_ids=(end - start)[:, None], cache=cache, use_cache=True)
        return out.logits[:, -1].float()

    runs = {"eager": step}
    if args.backend != "none":
        runs[f"compiled ({args.backend})"] = torch.compile(step, fullgraph=True, backend=args.backend)
    generator = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, config.vocab_size, (args.rows,), generator=generator).to(device)
    start = torch.randint(0, 3, (args.rows,), generator=generator).to(device)
    if args.graph and device.type == "cuda":
        static_tokens, static_start = tokens.clone(), start.clone()
        saved = cache.state()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.inference_mode(), torch.cuda.stream(side):
            for _ in range(3):
                step(static_tokens, static_start)          # warm-up outside the capture
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.inference_mode(), torch.cuda.graph(graph):
            graph_out = step(static_tokens, static_start)
        cache.restore(saved)

        def replay(tokens, start):
            static_tokens.copy_(tokens)
            static_start.copy_(start)
            graph.replay()
            return graph_out.clone()
        runs["cuda graph"] = replay
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        for i in range(args.steps):
            cache.end.fill_(3 + i)
            saved = cache.state()
            outs, times = {}, {}
            for name, run in runs.items():
                cache.restore(saved)
                sync()
                began = time.perf_counter()
                outs[name] = run(tokens, start)
                sync()
                times[name] = 1000 * (time.perf_counter() - began)
            reference = outs["eager"]
            print(f"step {i}: " + "; ".join(
                f"{name} {'equal' if torch.equal(out, reference) else f'max diff {(out - reference).abs().max():.2e}'}"
                f" {times[name]:.2f} ms" for name, out in outs.items()))


if __name__ == "__main__":
    main()
