"""What came back of the logprobs asked: the API's top-k turned into id arrays, counted per run
and for the arm (the manifest's `logprobs`), and `LogprobsWarning` when an endpoint returned fewer.

Not every endpoint honours `logprobs`: `transformers serve` accepts the field and ignores it
(its answers carry no `logprobs` at all). The collector counts the records whose answer
carried them, warns once per run (naming the endpoint and the count) when fewer came back than
were asked, and records what came back in the manifest (per run and for the arm), so the
manifest never claims top-k data the arm does not hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from casestudy.distiller.collect.dataset import TopK, topk_entries
from casestudy.distiller.collect.settings import CollectSettings
from casestudy.distiller.collect.tokens import TokenMap


class LogprobsWarning(UserWarning):
    """An endpoint returned fewer logprobs than were asked (none, for one that ignores the field)."""


def to_topk(content: list[Any] | None, token_map: TokenMap | None, k: int) -> TopK | None:
    """Turn the API's `logprobs.content` into id arrays (padded with -1 / -inf to k); None when
    the answer carried none (no `logprobs`, or an empty `content`)."""
    if not content or k == 0:
        return None
    to_id = (lambda raw, text: -1) if token_map is None else token_map.to_id
    tokens = len(content)
    token_ids, token_lps = [0] * tokens, [0.0] * tokens
    top_ids = [[-1] * k for _ in range(tokens)]
    top_lps = [[float("-inf")] * k for _ in range(tokens)]
    for t, item in enumerate(content):
        token_ids[t] = to_id(item.bytes, item.token)
        token_lps[t] = item.logprob
        for j, alt in enumerate((item.top_logprobs or [])[:k]):
            top_ids[t][j] = to_id(alt.bytes, alt.token)
            top_lps[t][j] = alt.logprob
    return TopK(token_ids, token_lps, top_ids, top_lps)


def logprobs_entry(asked: int, records: int, with_logprobs: int, top_returned: int) -> dict[str, int]:
    """What came back of the logprobs asked, for the manifest: `records_with_logprobs` of `records`
    carried top-k logprobs, with at most `top_returned` alternatives a position (of `asked`)."""
    return {"asked": asked, "records": records, "records_with_logprobs": with_logprobs, "top_returned": top_returned}


def arm_logprobs(arm_dir: Path, asked: int, records: int) -> dict[str, int]:
    """The arm's logprobs summary, counted from its index (so a resumed or repaired arm counts right)."""
    entries = topk_entries(arm_dir)
    return logprobs_entry(asked, records, len(entries), max((e.get("returned", e["k"]) for e in entries), default=0))


def logprobs_warning(settings: CollectSettings, records: int, with_logprobs: int, top_returned: int) -> str:
    """The sentence of `LogprobsWarning` for one run."""
    where = f"{settings.base_url}" + (f" ({settings.endpoint})" if settings.endpoint != "custom" else "")
    if with_logprobs == 0:
        return (f"{where} returned no logprobs: 0 of {records} records carry the top_logprobs={settings.top_logprobs} "
                "asked (the endpoint ignored the field). The arm holds text only: no top-k student can train on it.")
    parts = []
    if with_logprobs < records:
        parts.append(f"only {with_logprobs} of {records} records carry logprobs")
    if top_returned < settings.top_logprobs:
        parts.append(f"at most {top_returned} alternatives a position came back")
    return f"{where} returned fewer logprobs than asked (top_logprobs={settings.top_logprobs}): " + "; ".join(parts) + "."
