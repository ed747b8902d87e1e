"""The notebook's prose: the prompts chosen, which data it used, what was collected, the summary."""

from __future__ import annotations

from pathlib import Path

from casestudy.capped import caps_text
from casestudy.cost.prices import PricePoint
from casestudy.distiller.collect.prompts import Prompt
from casestudy.stages.collect.metrics import Metrics
from casestudy.stages.collect.params import Params
from casestudy.stages.collect.workspace import control_size, gold_check_sizes


def prompts_text(pool: list[Prompt], prompts: list[Prompt]) -> str:
    """The prompts chosen, and the share of each family the pool holds out as the `eval` split."""
    families = sorted({p.family for p in pool})
    held = [sum(p.family == f and p.split == "eval" for p in pool) / sum(p.family == f for p in pool) for f in families]
    return (f"**{len(prompts)}** of the {len(pool)} prompts, from {len({p.family for p in prompts})} families (the "
            f"pool holds out {min(held):.0%} to {max(held):.0%} of each family as the `eval` split):")


def sizes_text(params: Params, pool: list[Prompt], prompts: list[Prompt]) -> str:
    """The held-out prompts per ordinary gold family and the control arm's prompts, each said as used
    (fewer than its parameter when the pool or the run holds fewer)."""
    caps = gold_check_sizes(params, pool) + ([control_size(params, prompts)] if params.local else [])
    return caps_text(caps)


def source_text(metrics: Metrics) -> str:
    """Which data the notebook used, in one paragraph (empty for a live collection)."""
    source = metrics.source
    if source.kind != "frozen":
        return ""
    rebuilt = source.teacher_rebuilt
    teacher = ("" if rebuilt is None else " The provider's post-trained teacher (for notebook 04's probe of the "
               "deployed teacher) was built from the same recipe on this machine (or taken from its cache)" +
               (", with the archive's fingerprint." if rebuilt.same_as_archive else
                f": its fingerprint {rebuilt.fingerprint} differs from the archive's "
                f"{source.teacher_fingerprint} (another device or dtype), so its answers may differ a little."))
    return (f"**Data: a frozen collection**, not collected now. `{source.archive}` (SHA-256 "
            f"`{source.sha256[:16]}…`, checked) was packed on {source.packed_at or '?'} from a "
            f"`{source.profile or '?'}` run on {source.device or '?'}; every figure below describes that "
            f"collection (its times are that machine's).{teacher}\n\n")


def collected_text(metrics: Metrics) -> str:
    return source_text(metrics) + (
            f"The distiller holds **{metrics.records:,} records** ({metrics.prompt_tokens:,} prompt and "
            f"{metrics.completion_tokens:,} completion tokens), collected in {metrics.wall_seconds:.0f} s of "
            f"collection time at **{metrics.tokens_per_second:.1f} completion tokens/s** from a "
            f"{metrics.teacher_params / 1e6:.1f}M-parameter teacher served on {metrics.device}.")


def summary_text(metrics: Metrics, top_logprobs: int, flagship: PricePoint, main_dir: Path) -> str:
    control = (f"a control arm of {metrics.control.records:,} records from the public model behind the same "
               f"API, unwatermarked" if metrics.control.records else "no control arm")
    return source_text(metrics) + (
            f"From **{metrics.endpoint}** the distiller collected **{metrics.records:,} records** with the top-"
            f"{top_logprobs} logprobs of every token, plus {control}. Collection took {metrics.wall_seconds:.0f} s "
            f"at {metrics.tokens_per_second:.1f} tokens/s on {metrics.device}; at {flagship.label} prices it "
            f"would have cost ${metrics.bill_usd[flagship.label]:.4f}. Records: `{main_dir}`; next, notebook 02 "
            "trains students on them.")
