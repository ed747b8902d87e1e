"""The investigator's questions to the suspects: the watermark queries and the identity probes,
and every suspect of notebook 02 answering them as a black box."""

from __future__ import annotations

from dataclasses import dataclass

from casestudy.distiller.collect.prompts import load_prompts
from casestudy.provider.posttrain.data import probe_rows
from casestudy.scenario.investigator import QuerySet, query_conversations
from casestudy.stages import detect  # the package: calls go through its seams (see __init__)
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.workspace import Workspace


@dataclass(frozen=True)
class Queries:
    """The investigator's questions: the watermark queries and the identity probes (with their rows)."""
    watermark: QuerySet
    probes: QuerySet
    probe_rows: list[dict]       # each probe's question, language, ...

    def both(self) -> dict[str, QuerySet]:
        """Both sets, as `ask_model` takes them."""
        return {"watermark": self.watermark, "probes": self.probes}


def query_sets(params: Params, skill_family: str | None = None) -> Queries:
    """The watermark queries (held-out prompts first), the identity probes (greedy), and the probe rows.

    The watermark can only show where the model had a choice: the skill's worked answers are
    near-forced token by token, so the investigator queries with open prompts (`skill_family` left out).
    """
    probes = probe_rows()
    open_prompts = [p for p in load_prompts() if p.family != skill_family]
    watermark = QuerySet(query_conversations(open_prompts, params.num_queries, params.seed), params.query_max_tokens,
                         params.query_temperature)
    probe = QuerySet([[{"role": "user", "content": p["question"]}] for p in probes], params.probe_max_tokens, 0.0)
    return Queries(watermark, probe, probes)


def ask_students(where: Workspace, queries: Queries, params: Params) -> dict[str, dict[str, list[str]]]:
    """Every suspect of notebook 02, served as a black box, answers both query sets (cached per model)."""
    return {name: detect.ask_model(name, path, queries.both(), where.out, params.seed, params.device,
                                   precision=params.suspect_precision)
            for name, path in where.students.items()}
