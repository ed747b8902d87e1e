"""The investigator's questions to the suspects: the watermark queries and the identity probes,
and every suspect of notebook 02 answering them as a black box."""

from __future__ import annotations

from dataclasses import dataclass, replace

from casestudy.distiller.collect.prompts import load_prompts
from casestudy.provider.posttrain.data import probe_rows
from casestudy.scenario.investigator import QuerySet, query_conversations
from casestudy.stages import detect  # the package: calls go through its seams (see __init__)
from casestudy.stages.detect.params import Params
from casestudy.stages.detect.workspace import Workspace


@dataclass(frozen=True)
class Queries:
    """The investigator's questions: the watermark queries, the identity probes (with their rows), and,
    once the teacher has been screened (`mistakes.screen_teacher`), the prompts it got wrong."""
    watermark: QuerySet
    probes: QuerySet
    probe_rows: list[dict]       # each probe's question, language, ...
    mistakes: QuerySet | None = None

    def both(self) -> dict[str, QuerySet]:
        """The watermark queries and the identity probes, as `ask_model` takes them."""
        return {"watermark": self.watermark, "probes": self.probes}

    def for_suspects(self) -> dict[str, QuerySet]:
        """What notebook 02's suspects are asked: both sets, and the teacher's wrong prompts when screened."""
        return self.both() | ({} if self.mistakes is None else {"mistakes": self.mistakes})

    def with_mistakes(self, asked: QuerySet) -> "Queries":
        return replace(self, mistakes=asked)


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
    """Every suspect of notebook 02, served as a black box, answers the query sets (cached per model and set)."""
    return {name: detect.ask_model(name, path, queries.for_suspects(), where.out, params.seed, params.device,
                                   precision=params.suspect_precision)
            for name, path in where.students.items()}
