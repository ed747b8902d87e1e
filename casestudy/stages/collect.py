"""Notebook 01's stage: deploy the provider locally (or use any endpoint), collect both arms, write metrics.

With an empty `base_url` the provider's two deployments (scenario.deployments) run as
server processes; the distiller collects the main arm while simulated ordinary customers
(scenario.customers) use the same API, then the control arm. The distiller itself only
gets a base URL and an API key. An arm already complete for the same settings and prompts
is not collected again; an interrupted one is resumed.

With `source = "frozen"` (or the path of an archive) nothing is served or collected: a
frozen collection (scenario.frozen) made by the same settings is checked and unpacked
into `collect/`, and only the provider's post-training is rebuilt (cached) for notebook 04.

`Params` is the notebook's parameters cell; `Metrics` is its metrics.json, read by
notebooks 03 and 04 (`Metrics.read(<run>/collect)`) and packed with a frozen collection.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import pandas as pd
from pydantic import Field

from casestudy.aio import run_sync
from casestudy.cost.prices import PricePoint, api_bill, load_price_table
from casestudy.detection.traffic import ledger_accounts, ledger_timeline
from casestudy.distiller.collect.collector import (CollectSettings, CollectSummary, collect_async, is_complete,
                                                   prompts_hash, read_manifest)
from casestudy.distiller.collect.dataset import read_records, read_topk
from casestudy.distiller.collect.prompts import Prompt, load_prompts, select_mix
from casestudy.models import load_model
from casestudy.paths import REPO_ROOT, run_dir, stage_dir
from casestudy.provider.ledger import read_ledger
from casestudy.provider.posttrain.skill import FAMILY as SKILL_FAMILY
from casestudy.provider.posttrain.tune import TuneSettings, tune_info
from casestudy.scenario import deployments, frozen
from casestudy.scenario.customers import TrafficSettings, TrafficSummary, alongside
from casestudy.stages.contract import Record, StageMetrics, StageParams, check_choice, check_range
from casestudy.targets import Target

LOCAL_KEY_ENV = "CASESTUDY_LOCAL_API_KEY"  # where the key of the local distiller account is put
DEVICES = ("auto", "cpu", "cuda")
MAX_TOP_LOGPROBS = 20                      # OpenAI's API cap
MAX_TEMPERATURE = 2.0                      # OpenAI's API range: [0, 2]


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 01's parameters (its parameters cell is the one source of their defaults)."""

    NOTEBOOK = "01_collect"

    profile: str
    seed: int
    device: str                # where the local provider runs the teacher: auto, cpu or cuda
    teacher: str               # "embedded" or a model folder / hub id
    post_train: bool           # the main deployment serves the public model + the provider's post-training
    post_train_steps: int      # its optimizer steps (0: one pass over its examples)
    skill_examples: int        # its gold worked additions
    num_prompts: int           # ordinary prompts asked, spread over families and splits
    skill_prompts: int         # prompts about the provider's skill (SKILL_FAMILY)
    samples_per_prompt: int
    max_tokens: int
    temperature: float
    eval_temperature: float    # held-out prompts: the teacher is measured as the students are (0: greedy)
    top_logprobs: int
    concurrency: int
    control_prompts: int
    traffic_accounts: int
    traffic_mean_gap_s: float
    request_timeout_s: float
    base_url: str              # empty: start the local provider
    model: str                 # the endpoint's model name (local provider: its own)
    api_key_env: str           # NAME of the variable with the key of an external endpoint
    prompt_file: str           # empty: data/prompts/prompts.jsonl
    source: str                # "live" (serve and collect), "frozen" (data/frozen/<profile>-collect.tar.xz) or an archive path

    def __post_init__(self) -> None:
        if self.source not in ("live", "frozen") and not self.source.endswith((".tar.xz", ".tar.gz", ".tar")):
            raise ValueError(f"source must be 'live', 'frozen' or the path of a frozen archive (.tar.xz), "
                             f"not {self.source!r}")
        if self.source != "live" and self.base_url:
            raise ValueError("a frozen collection replays the local provider: leave base_url empty")
        if self.base_url and not self.model:
            raise ValueError(f"base_url={self.base_url!r} needs the endpoint's model name in `model`")
        check_choice("device", self.device, DEVICES)
        if not self.teacher:
            raise ValueError("teacher must name a model: 'embedded', a model folder or a hub id")
        for name in ("post_train_steps", "skill_examples", "num_prompts", "skill_prompts", "control_prompts",
                     "traffic_accounts"):
            check_range(name, getattr(self, name), 0)
        if self.num_prompts + self.skill_prompts == 0:
            raise ValueError("num_prompts and skill_prompts are both 0: there is nothing to ask")
        for name in ("samples_per_prompt", "max_tokens", "concurrency"):
            check_range(name, getattr(self, name), 1)
        check_range("temperature", self.temperature, 0.0, MAX_TEMPERATURE)
        check_range("eval_temperature", self.eval_temperature, 0.0, MAX_TEMPERATURE)
        check_range("top_logprobs", self.top_logprobs, 0, MAX_TOP_LOGPROBS)
        check_range("traffic_mean_gap_s", self.traffic_mean_gap_s, 0.0)
        if not self.request_timeout_s > 0:
            raise ValueError(f"request_timeout_s must be > 0, not {self.request_timeout_s!r}")

    @property
    def local(self) -> bool:
        return not self.base_url

    def tune_settings(self) -> TuneSettings | None:
        """The provider's post-training (None: the public model served as is).

        Its seed is the provider's, not the run's: the provider sells one product,
        whichever seed the distiller's side of a run uses."""
        if not self.post_train:
            return None
        return TuneSettings(steps=self.post_train_steps, skill_examples=self.skill_examples, device=self.device)


# ---------------------------------------------------------------- metrics.json


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
    batch_size: int | None
    train_layers: int | None
    lr: float | None
    recipe: int | None
    optimizer_steps: int


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

    @property
    def main(self) -> ArmMetrics:
        return ArmMetrics(**{name: getattr(self, name) for name in ArmMetrics.model_fields})

    def arms(self) -> dict[str, ArmMetrics]:
        """The arms collected: "main" and, when it has records, "control"."""
        return {"main": self.main, **({"control": self.control} if self.control.records else {})}

    def arm(self, name: str | None) -> ArmMetrics | None:
        """The arm a student learned from ("main", "control"; None: none)."""
        return None if name is None else self.control if name == "control" else self.main


# ---------------------------------------------------------------- the notebook's steps


@dataclass
class Workspace:
    """Where the stage writes, the dated price table, and the teacher loaded on the CPU (its
    tokenizer maps the token bytes the API returns to ids; its size goes into metrics.json)."""

    out: Path
    price_points: list[PricePoint]
    flagship: PricePoint         # the price point the collector's running bill and the headline use
    teacher: Any

    def bill(self, prompt_tokens: int, completion_tokens: int) -> float:
        return api_bill(prompt_tokens, completion_tokens, self.flagship)


def flagship(price_points: list[PricePoint]) -> PricePoint:
    return next(p for p in price_points if p.tier == "flagship")


def open_workspace(params: Params) -> Workspace:
    points = load_price_table()
    return Workspace(stage_dir(run_dir(params.profile), "collect"), points, flagship(points),
                     load_model(params.teacher, device="cpu"))


def choose_prompts(params: Params) -> tuple[list[Prompt], list[Prompt]]:
    """The prompt pool (`prompt_file`, default data/prompts/prompts.jsonl) and the run's stratified mix of
    `num_prompts` ordinary and `skill_prompts` skill prompts."""
    pool = load_prompts(params.prompt_file or None)
    return pool, select_mix(pool, params.num_prompts, SKILL_FAMILY, params.skill_prompts, params.seed)


def prompts_table(prompts: list[Prompt]) -> pd.DataFrame:
    """Prompts per family (rows) and split (columns), with totals."""
    chosen = pd.DataFrame([{"family": p.family, "split": p.split} for p in prompts])
    return pd.crosstab(chosen.family, chosen.split, margins=True, margins_name="total")


def prompts_text(pool: list[Prompt], prompts: list[Prompt]) -> str:
    return f"**{len(prompts)}** of the {len(pool)} prompts, from {len({p.family for p in prompts})} families:"


def main_records(collect_dir: Path) -> list[dict]:
    return read_records(Path(collect_dir) / "main")


def main_topk(collect_dir: Path) -> dict:
    return read_topk(Path(collect_dir) / "main")


def logprob_example(records: list[dict], topk: dict) -> dict:
    """A record of an open family that has its top-k logprobs (else the first record)."""
    return next((r for r in records if r["family"] not in ("sentiment", "factual") and r["id"] in topk), records[0])


@dataclass
class LedgerView:
    timeline: pd.DataFrame   # chat requests over time, distiller or simulated customer
    accounts: pd.DataFrame   # per account: requests, tokens, logprob use, conversation depth


def ledger_view(params: Params, collect_dir: Path) -> LedgerView | None:
    """The provider's ledger of a local collection (None for an external endpoint: its operator keeps it)."""
    path = deployments.ledger_path(collect_dir)
    if not params.local or not path.is_file():
        return None
    ledger = read_ledger(path)
    return LedgerView(ledger_timeline(ledger, deployments.DISTILLER_ACCOUNT), ledger_accounts(ledger))


@dataclass
class ArmResult:
    name: str
    arm_dir: Path
    summary: CollectSummary | None   # None when the arm was already complete
    manifest: dict[str, Any]


@dataclass
class StageResult:
    arms: dict[str, ArmResult] = field(default_factory=dict)
    post_training: PostTraining | None = None   # the provider's own tune, as it recorded it
    traffic: TrafficSummary | None = None
    device: str = "unknown"
    endpoint: str = ""
    frozen: dict[str, Any] | None = None        # the frozen archive used (its manifest), None when live
    frozen_metrics: Metrics | None = None       # the archive's metrics.json, None when live


def collect_settings(params: Params, base_url: str, model: str, key_env: str, endpoint: str) -> CollectSettings:
    return CollectSettings(
        base_url=base_url, model=model, api_key_env=key_env, endpoint=endpoint, max_tokens=params.max_tokens,
        temperature=params.temperature, top_logprobs=params.top_logprobs,
        samples_per_prompt=params.samples_per_prompt, concurrency=params.concurrency, seed=params.seed,
        timeout_s=params.request_timeout_s, eval_temperature=params.eval_temperature,
    )


def collect_external(params: Params, prompts: list[Prompt], collect_dir: Path, **kwargs) -> StageResult:
    """The main arm from any OpenAI-compatible endpoint: no control arm, no ledger of ours."""
    settings = collect_settings(params, params.base_url, params.model, params.api_key_env, "external")
    arm_dir = Path(collect_dir) / "main"
    device = f"external endpoint {params.base_url}"
    summary = None if is_complete(arm_dir, settings, prompts) else run_sync(collect_async(
        prompts, arm_dir, settings, description="main", run_info={"device": device}, **kwargs))
    result = StageResult(device=device, endpoint=params.base_url)
    result.arms["main"] = ArmResult("main", arm_dir, summary, read_manifest(arm_dir))
    return result


def run_collection(
    params: Params, prompts: list[Prompt], collect_dir: Path, tokenizer=None, bill=None, progress: bool = True,
) -> StageResult:
    """Collect the main arm (with simulated traffic) and the control arm; skip what is complete.

    `bill(prompt_tokens, completion_tokens)` prices the collector's running total (`Workspace.bill`)."""
    collect_dir = Path(collect_dir)
    kwargs = dict(tokenizer=tokenizer, bill=bill, progress=progress, on_change="restart")
    if params.source != "live":
        return restore_frozen(params, prompts, collect_dir)
    if not params.local:
        return collect_external(params, prompts, collect_dir, **kwargs)

    from casestudy.provider.server import running_servers

    result = StageResult(endpoint="local provider")
    todo = {}
    for arm, arm_prompts in (("main", prompts), ("control", prompts[: params.control_prompts])):
        if not arm_prompts:
            continue
        provider = deployments.deployment(collect_dir, arm, params.teacher, params.tune_settings(), params.seed,
                                          params.device, params.concurrency)
        deployments.save_deployment(collect_dir, arm, provider)
        if arm == "main" and params.post_train:
            result.post_training = post_training_record(provider.model_source)
        settings = collect_settings(params, "http://127.0.0.1:1/v1", provider.model_name, LOCAL_KEY_ENV,
                                    f"local:{deployments.deployment_key(provider)}")
        if is_complete(collect_dir / arm, settings, arm_prompts):
            result.arms[arm] = ArmResult(arm, collect_dir / arm, None, read_manifest(collect_dir / arm))
        else:
            todo[arm] = (provider, settings, arm_prompts)
    if not todo:
        return result
    # Start the servers together so that their model loads overlap, then collect one arm at a time.
    with running_servers(*(provider for provider, _, _ in todo.values())) as servers:
        for (arm, (provider, settings, arm_prompts)), server in zip(todo.items(), servers):
            settings = replace(settings, base_url=server.base_url)
            result.device = deployments.provider_device(server.base_url)
            os.environ[LOCAL_KEY_ENV] = deployments.distiller_key(provider, arm)
            customers = deployments.customer_keys(provider, params.traffic_accounts) if arm == "main" else {}
            traffic = TrafficSettings(mean_gap_s=params.traffic_mean_gap_s, seed=params.seed)
            work = collect_async(arm_prompts, collect_dir / arm, settings, description=arm,
                                 run_info={"device": result.device}, **kwargs)
            summary, simulated = run_sync(alongside(work, settings.base_url, settings.model, customers, traffic))
            if simulated is not None:
                result.traffic = simulated
            result.arms[arm] = ArmResult(arm, collect_dir / arm, summary, read_manifest(collect_dir / arm))
    return result


# The parameters a frozen collection must share with the notebook's (the others, e.g. concurrency
# or request_timeout_s, change how fast it was collected, not what; the prompts are checked by their hash).
FROZEN_MATCH = ("seed", "teacher", "post_train", "post_train_steps", "skill_examples", "samples_per_prompt",
                "max_tokens", "temperature", "eval_temperature", "top_logprobs", "control_prompts",
                "traffic_accounts", "traffic_mean_gap_s", "base_url", "model")


def frozen_archive(params: Params, collect_dir: Path) -> Path:
    """The archive `source` names: "frozen" is the run's profile's (the run folder's name); a relative
    path is read from the project's root, wherever the notebook's kernel runs."""
    if params.source == "frozen":
        return frozen.archive_path(Path(collect_dir).parent.name)
    path = Path(params.source).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def check_frozen(meta: dict[str, Any], arm_manifests: dict[str, dict], params: Params,
                 prompts: list[Prompt]) -> None:
    """Refuse a frozen collection made with other settings or other prompts than the notebook's."""
    made = meta.get("parameters", {})
    differ = {k: (made.get(k), getattr(params, k)) for k in FROZEN_MATCH if made.get(k) != getattr(params, k)}
    wanted = {"main": prompts, "control": prompts[: params.control_prompts]}
    for arm, manifest in arm_manifests.items():
        if manifest.get("prompts", {}).get("hash") != prompts_hash(wanted[arm]):
            differ[f"{arm} prompts"] = (manifest.get("prompts", {}).get("count"), len(wanted[arm]))
    if differ:
        listed = ", ".join(f"{k}: archive {a!r}, notebook {b!r}" for k, (a, b) in differ.items())
        raise frozen.FrozenError(f"the frozen collection was made by the '{meta.get('profile')}' profile with other "
                                 f"settings ({listed}); run that profile (--profile {meta.get('profile')}) or "
                                 "source='live'")


def restore_frozen(params: Params, prompts: list[Prompt], collect_dir: Path) -> StageResult:
    """Unpack a checked frozen collection into `collect_dir`; rebuild the provider's post-training (cached)."""
    archive = frozen_archive(params, collect_dir)
    frozen.verify_checksum(archive)
    meta = frozen.read_manifest(archive)
    check_frozen(meta, {arm: frozen.read_json_member(archive, f"{arm}/manifest.json")
                        for arm in ("main", "control") if f"{arm}/manifest.json" in meta["files"]}, params, prompts)
    meta = frozen.unpack(archive, collect_dir)
    collected = Metrics.read(collect_dir)
    result = StageResult(device=collected.device, endpoint=collected.endpoint, post_training=collected.post_training,
                         frozen=dict(meta), frozen_metrics=collected)
    for arm in ("main", "control"):
        if (collect_dir / arm / "manifest.json").is_file():
            result.arms[arm] = ArmResult(arm, collect_dir / arm, None, read_manifest(collect_dir / arm))
    if params.post_train:
        # Notebook 04 probes the deployed teacher: rebuild the provider's post-training here (cached).
        provider = deployments.deployment(collect_dir, "main", params.teacher, params.tune_settings(), params.seed,
                                          params.device, params.concurrency)
        saved = deployments.load_deployment(collect_dir, "main")
        if saved.watermark != provider.watermark:
            raise frozen.FrozenError("the frozen collection's watermark settings are not this seed's")
        saved.model_source = provider.model_source
        deployments.save_deployment(collect_dir, "main", saved)
        result.frozen["teacher_rebuilt"] = {"fingerprint": Path(provider.model_source).name,
                                            "same_as_archive": Path(provider.model_source).name
                                            == meta.get("teacher_fingerprint")}
    return result


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
    return PostTraining(**{k: info.get(k) for k in keys}, optimizer_steps=len(info.get("losses", [])))


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


ARM_COLUMNS = ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "tokens_per_second")


def arms_table(metrics: Metrics) -> pd.DataFrame:
    """Main and control side by side."""
    return pd.DataFrame({name: {k: getattr(arm, k) for k in ARM_COLUMNS}
                         for name, arm in (("main", metrics.main), ("control", metrics.control))})


def bill_table(metrics: Metrics, price_points: list[PricePoint]) -> pd.DataFrame:
    """Each arm's API bill at each dated price point."""
    return pd.DataFrame([{"price point": p.label, "tier": p.tier, "main": metrics.bill_usd[p.label],
                          "control": metrics.control.bill_usd[p.label]} for p in price_points])


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
