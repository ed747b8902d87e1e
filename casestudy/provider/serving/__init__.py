"""The provider's serving engine: continuous batching of the rows of every request.

Why home-made: transformers' continuous batching (`generate_batch`,
`ContinuousBatchingManager`) takes no custom logits processor (its processors see each
row's last token only, so the context-seeded watermark cannot run), no per-request seed
(it samples with `torch.multinomial` on the global generator), and returns no top-k
logprobs (nor stop strings); on the CPU it was also slower than a plain `generate`. So this
engine keeps transformers' model code and `Cache` interface and schedules the rows itself
(docs/provider.md, "Continuous batching", has the measurements).

    rows      Row (what a request asks for), Completion, Update (a streamed token), Live; GREEDY_BELOW
    engine    Engine: rows in (`add`, `cancel`), one `step()` at a time, completions out
    forward   the model's forwards: a decoding step, a padded prefill, a long prompt's chunk (4-D masks)
    prefill   PrefillSchedule: which prompts a step prefills, and a long prompt's timed chunks
    kvcache   SlotCache: the decoding batch's keys/values, right-aligned in preallocated buffers
    sampling  the draw: penalties, the watermark's bias (Marking), temperature, top_p, counter-based Gumbel noise
    outputs   Outputs: drawn tokens, logprobs and top-k on the device until a row ends; its Completion
    batcher   ContinuousBatcher: the worker thread between the event loop's requests and the engine
"""
