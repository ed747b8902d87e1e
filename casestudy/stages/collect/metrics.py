"""Notebook 01's metrics.json: its typed records, `Metrics`, and `stage_metrics` with its targets and headline."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field

from casestudy.cost.prices import PricePoint, api_bill
from casestudy.provider.posttrain import skill
from casestudy.provider.posttrain.tune import tune_info
from casestudy.stages.collect.params import Params
from casestudy.stages.collect.workspace import flagship
from casestudy.stages.contract import Record, StageMetrics
from casestudy.targets import Target

if TYPE_CHECKING:
    from casestudy.stages.collect.result import StageResult


class ArmMetrics(Record):
    """One arm's harvest, summed over its (resumed) runs; zeros for an arm that was not collected."""

    records: int
    prompt_tokens: int
    completion_tokens: int
    wall_seconds: float
    tokens_per_second: float
    complete: bool
    device: str
    records_hash: str | None
    bill_usd: dict[str, float]     # its API bill at each dated price point (label -> USD)


class TrafficRow(Record):
    """One simulated ordinary customer's use of the API during the main arm."""

    account: str
    conversations: int
    requests: int
    completion_tokens: int


class PostTraining(Record):
    """What the provider's post-training took, as it recorded it (notebook 03 bills it)."""

    seconds: float | None
    cpu_seconds: float | None
    device: str | None
    examples: int | None
    steps: int | None
    skill_examples: int | None
    skill_words: int = 0        # English words in the translations it was tuned on: what the provider paid for
    batch_size: int | None
    train_layers: int | None
    lr: float | None
    recipe: int | None
    optimizer_steps: int


class CheckRow(Record):
    """One model, system prompt and family of the provider's product check (`provider.posttrain.check`)."""

    model: str
    system: str
    family: str
    n: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    balanced_accuracy: float | None
    vs_public: float
    lost: int
    gained: int
    mcnemar_p: float


class LiveSource(Record):
    kind: Literal["live"] = "live"


class TeacherRebuilt(Record):
    fingerprint: str
    same_as_archive: bool


class FrozenSource(Record):
    """The frozen archive the stage unpacked: its name, checksum and origin."""

    kind: Literal["frozen"] = "frozen"
    archive: str
    sha256: str
    profile: str | None = None
    packed_at: str | None = None
    device: str | None = None
    note: str | None = None
    teacher_fingerprint: str | None = None
    teacher_rebuilt: TeacherRebuilt | None = None


Source = Annotated[Union[LiveSource, FrozenSource], Field(discriminator="kind")]


class Metrics(ArmMetrics, StageMetrics):
    """Notebook 01's metrics.json: the main arm's figures at the top level (`main`), the control's
    under `control`, and what the run served, from where, and how long it took."""

    STAGE = "collect"

    teacher_params: int
    endpoint: str
    control: ArmMetrics
    traffic: list[TrafficRow]
    source: Source
    post_training: PostTraining | None
    parameters: dict[str, Any]
    stage_wall_seconds: float
    product_check: list[CheckRow] = []   # the provider's check of its teacher against the public model

    def add_product_check(self, table, checks: list[Target]) -> None:
        """Record the provider's product check (`stages.collect.product`) and its targets."""
        self.product_check = [CheckRow(**row) for row in table.to_dict("records")]
        self.targets = [*self.targets, *checks]

    @property
    def main(self) -> ArmMetrics:
        return ArmMetrics(**{name: getattr(self, name) for name in ArmMetrics.model_fields})

    def arms(self) -> dict[str, ArmMetrics]:
        """The arms collected: "main" and, when it has records, "control"."""
        return {"main": self.main, **({"control": self.control} if self.control.records else {})}

    def arm(self, name: str | None) -> ArmMetrics | None:
        """The arm a student learned from ("main", "control"; None: none)."""
        return None if name is None else self.control if name == "control" else self.main


def source_record(result: StageResult) -> LiveSource | FrozenSource:
    """Which data the stage used: collected now, or the frozen archive (name, checksum, origin)."""
    if result.frozen is None:
        return LiveSource()
    meta = result.frozen
    keys = ("profile", "packed_at", "device", "note", "teacher_fingerprint", "teacher_rebuilt")
    return FrozenSource(archive=Path(meta["archive"]).name, sha256=meta["sha256"],
                        **{k: meta[k] for k in keys if k in meta})


def post_training_record(folder: str) -> PostTraining:
    """What the provider's post-training took (for notebook 03's bill of the provider's side)."""
    info = tune_info(Path(folder))
    keys = ("seconds", "cpu_seconds", "device", "examples", "steps", "skill_examples", "batch_size", "train_layers",
            "lr", "recipe")
    bought = skill.problems(skill.TRAINING_FILE, info.get("skill_examples") or 0)
    return PostTraining(**{k: info.get(k) for k in keys}, optimizer_steps=len(info.get("losses", [])),
                        skill_words=skill.training_words(bought))


def bills(prompt_tokens: int, completion_tokens: int, price_points: list[PricePoint]) -> dict[str, float]:
    """An API bill at each dated price point (label -> USD)."""
    return {p.label: round(api_bill(prompt_tokens, completion_tokens, p), 6) for p in price_points}


def arm_metrics(manifest: dict[str, Any], price_points: list[PricePoint]) -> ArmMetrics:
    """records, tokens, wall time and bills of one arm, summed over its (resumed) runs."""
    counts = manifest.get("counts", {})
    wall = float(manifest.get("wall_seconds", 0.0))
    prompt, completion = int(counts.get("prompt_tokens", 0)), int(counts.get("completion_tokens", 0))
    return ArmMetrics(
        records=int(counts.get("records", 0)),
        prompt_tokens=prompt,
        completion_tokens=completion,
        wall_seconds=round(wall, 2),
        tokens_per_second=round(completion / wall, 2) if wall > 0 else 0.0,
        complete=bool(manifest.get("complete", False)),
        device=next((r["device"] for r in reversed(manifest.get("runs", [])) if r.get("device")), "unknown"),
        records_hash=manifest.get("hashes", {}).get("records"),
        bill_usd=bills(prompt, completion, price_points),
    )


def targets(result: StageResult, metrics: Metrics) -> list[Target]:
    """Every arm asked for is complete (a resumed collection too)."""
    rows = [Target("main arm complete", f"{metrics.records:,} records", metrics.complete)]
    if "control" in result.arms:
        control = metrics.control
        rows.append(Target("control arm complete", f"{control.records:,} records", control.complete))
    return rows


def stage_metrics(result: StageResult, params: Params, teacher_params: int, price_points: list[PricePoint],
                  started: float) -> Metrics:
    """The metrics.json of the collect stage (read by notebooks 03 and 04), its targets and headline set."""
    main = arm_metrics(result.arms["main"].manifest, price_points)
    control = arm_metrics(result.arms["control"].manifest if "control" in result.arms else {}, price_points)
    traffic = (result.traffic.table() if result.traffic
               else result.frozen_metrics.traffic if result.frozen_metrics else [])
    metrics = Metrics(
        **dict(main), teacher_params=int(teacher_params), endpoint=result.endpoint, control=control, traffic=traffic,
        source=source_record(result), post_training=result.post_training, parameters=params.values(),
        stage_wall_seconds=round(time.time() - started, 1),
    )
    metrics.targets = targets(result, metrics)
    metrics.headline = headline(metrics, flagship(price_points))
    return metrics


def headline(metrics: Metrics, flagship: PricePoint) -> dict[str, str]:
    """The report index's lines for this stage."""
    source = metrics.source
    return {
        "records": f"{metrics.records:,} (+{metrics.control.records:,} control)",
        "throughput": f"{metrics.tokens_per_second:.1f} tokens/s on {metrics.device}",
        "API bill": f"${metrics.bill_usd[flagship.label]:.4f} at {flagship.label}",
        **({"data": f"frozen collection {source.archive} (SHA-256 {source.sha256[:12]}…)"}
           if source.kind == "frozen" else {}),
    }
