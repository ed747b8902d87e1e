"""Notebook 01's stage: deploy the provider locally (or use any endpoint), collect both arms, write metrics.

With an empty `base_url` the provider's two deployments (scenario.deployments) run as
server processes; the distiller collects the main arm while simulated ordinary customers
(scenario.customers) use the same API, then the control arm. The distiller itself only
gets a base URL and an API key. An arm already complete for the same settings and prompts
is not collected again; an interrupted one is resumed.

With `source = "frozen"` (or the path of an archive) nothing is served or collected: a
frozen collection (scenario.frozen) made by the same settings is checked and unpacked
into `collect/`, and only the provider's post-training is rebuilt (cached) for notebook 04.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from casestudy.aio import run_sync
from casestudy.cost.prices import PricePoint, api_bill
from casestudy.distiller.collect.collector import (CollectSettings, CollectSummary, collect_async, is_complete,
                                                   prompts_hash, read_manifest)
from casestudy.distiller.collect.prompts import Prompt
from casestudy.paths import REPO_ROOT
from casestudy.provider.posttrain.tune import TuneSettings, tune_info
from casestudy.scenario import deployments, frozen
from casestudy.scenario.customers import TrafficSettings, TrafficSummary, alongside
from casestudy.targets import Target

LOCAL_KEY_ENV = "CASESTUDY_LOCAL_API_KEY"  # where the key of the local distiller account is put


@dataclass(frozen=True, kw_only=True)
class StageParams:
    """The notebook's parameters that shape the collection: no defaults here, the
    notebook's `parameters` cell is the one source (see `from_namespace`)."""

    seed: int
    device: str
    teacher: str
    post_train: bool           # the main deployment serves the public model + the provider's post-training
    post_train_steps: int      # its optimizer steps (0: one pass over its examples)
    skill_examples: int        # its gold worked additions
    samples_per_prompt: int
    max_tokens: int
    temperature: float
    eval_temperature: float    # held-out prompts: the teacher is measured as the students are (0: greedy)
    top_logprobs: int
    concurrency: int
    control_prompts: int
    traffic_accounts: int
    traffic_mean_gap_s: float
    base_url: str        # empty: start the local provider
    model: str           # the endpoint's model name (local provider: its own)
    api_key_env: str     # NAME of the variable with the key of an external endpoint
    request_timeout_s: float
    source: str          # "live" (serve and collect), "frozen" (data/frozen/<profile>-collect.tar.xz) or an archive path

    def __post_init__(self) -> None:
        if self.source not in ("live", "frozen") and not self.source.endswith((".tar.xz", ".tar.gz", ".tar")):
            raise ValueError(f"source must be 'live', 'frozen' or the path of a frozen archive (.tar.xz), "
                             f"not {self.source!r}")
        if self.source != "live" and self.base_url:
            raise ValueError("a frozen collection replays the local provider: leave base_url empty")
        if self.control_prompts < 0 or self.traffic_accounts < 0:
            raise ValueError(f"control_prompts and traffic_accounts must be >= 0, got "
                             f"{self.control_prompts} and {self.traffic_accounts}")
        if self.base_url and not self.model:
            raise ValueError(f"base_url={self.base_url!r} needs the endpoint's model name in `model`")

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any]) -> "StageParams":
        """Pick the fields from a notebook's globals (its parameters)."""
        return cls(**{f.name: namespace[f.name] for f in fields(cls)})

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


@dataclass
class ArmResult:
    name: str
    arm_dir: Path
    summary: CollectSummary | None   # None when the arm was already complete
    manifest: dict[str, Any]


@dataclass
class StageResult:
    arms: dict[str, ArmResult] = field(default_factory=dict)
    post_training: dict[str, Any] | None = None   # the provider's own tune, as it recorded it
    traffic: TrafficSummary | None = None
    device: str = "unknown"
    endpoint: str = ""
    frozen: dict[str, Any] | None = None            # the frozen archive used (its manifest), None when live


def collect_settings(params: StageParams, base_url: str, model: str, key_env: str, endpoint: str) -> CollectSettings:
    return CollectSettings(
        base_url=base_url, model=model, api_key_env=key_env, endpoint=endpoint, max_tokens=params.max_tokens,
        temperature=params.temperature, top_logprobs=params.top_logprobs,
        samples_per_prompt=params.samples_per_prompt, concurrency=params.concurrency, seed=params.seed,
        timeout_s=params.request_timeout_s, eval_temperature=params.eval_temperature,
    )


def collect_external(params: StageParams, prompts: list[Prompt], collect_dir: Path, **kwargs) -> StageResult:
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
    params: StageParams, prompts: list[Prompt], collect_dir: Path, tokenizer=None, bill=None, progress: bool = True,
) -> StageResult:
    """Collect the main arm (with simulated traffic) and the control arm; skip what is complete."""
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
# or request_timeout_s, change how fast it was collected, not what).
FROZEN_MATCH = ("seed", "teacher", "post_train", "post_train_steps", "skill_examples", "samples_per_prompt",
                "max_tokens", "temperature", "eval_temperature", "top_logprobs", "control_prompts",
                "traffic_accounts", "traffic_mean_gap_s", "base_url", "model")


def frozen_archive(params: StageParams, collect_dir: Path) -> Path:
    """The archive `source` names: "frozen" is the run's profile's (the run folder's name); a relative
    path is read from the project's root, wherever the notebook's kernel runs."""
    if params.source == "frozen":
        return frozen.archive_path(Path(collect_dir).parent.name)
    path = Path(params.source).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def check_frozen(meta: dict[str, Any], arm_manifests: dict[str, dict], params: StageParams,
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


def restore_frozen(params: StageParams, prompts: list[Prompt], collect_dir: Path) -> StageResult:
    """Unpack a checked frozen collection into `collect_dir`; rebuild the provider's post-training (cached)."""
    archive = frozen_archive(params, collect_dir)
    frozen.verify_checksum(archive)
    meta = frozen.read_manifest(archive)
    check_frozen(meta, {arm: frozen.read_json_member(archive, f"{arm}/manifest.json")
                        for arm in ("main", "control") if f"{arm}/manifest.json" in meta["files"]}, params, prompts)
    meta = frozen.unpack(archive, collect_dir)
    collected = json.loads((collect_dir / "metrics.json").read_text())
    result = StageResult(device=collected.get("device", "unknown"), endpoint=collected.get("endpoint", ""),
                         post_training=collected.get("post_training"), frozen={**meta, "metrics": collected})
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


def source_record(result: StageResult) -> dict[str, Any]:
    """Which data the stage used: collected now, or the frozen archive (name, checksum, origin)."""
    if result.frozen is None:
        return {"kind": "live"}
    meta = result.frozen
    keys = ("profile", "packed_at", "device", "note", "teacher_fingerprint", "teacher_rebuilt")
    return {"kind": "frozen", "archive": Path(meta["archive"]).name, "sha256": meta["sha256"],
            **{k: meta[k] for k in keys if k in meta}}


def post_training_record(folder: str) -> dict[str, Any]:
    """What the provider's post-training took (for notebook 03's bill of the provider's side)."""
    info = tune_info(Path(folder))
    keys = ("seconds", "cpu_seconds", "device", "examples", "steps", "skill_examples", "batch_size", "train_layers",
            "lr", "recipe")
    return {k: info.get(k) for k in keys} | {"optimizer_steps": len(info.get("losses", []))}


def arm_metrics(manifest: dict[str, Any]) -> dict[str, Any]:
    """records, tokens and wall time of one arm, summed over its (resumed) runs."""
    counts = manifest.get("counts", {})
    wall = float(manifest.get("wall_seconds", 0.0))
    completion = int(counts.get("completion_tokens", 0))
    return {
        "records": int(counts.get("records", 0)),
        "prompt_tokens": int(counts.get("prompt_tokens", 0)),
        "completion_tokens": completion,
        "wall_seconds": round(wall, 2),
        "tokens_per_second": round(completion / wall, 2) if wall > 0 else 0.0,
        "complete": bool(manifest.get("complete", False)),
        "device": next((r["device"] for r in reversed(manifest.get("runs", [])) if r.get("device")), "unknown"),
        "records_hash": manifest.get("hashes", {}).get("records"),
    }


def bills(arm: dict[str, Any], price_points: list[PricePoint]) -> dict[str, float]:
    """The arm's API bill at each dated price point (label -> USD)."""
    return {p.label: round(api_bill(arm["prompt_tokens"], arm["completion_tokens"], p), 6) for p in price_points}


def targets(result: StageResult, metrics: dict[str, Any]) -> list[Target]:
    """Every arm asked for is complete (a resumed collection too)."""
    rows = [Target("main arm complete", f"{metrics['records']:,} records", metrics["complete"])]
    if "control" in result.arms:
        control = metrics["control"]
        rows.append(Target("control arm complete", f"{control['records']:,} records", control["complete"]))
    return rows


def stage_metrics(result: StageResult, params: StageParams, teacher_params: int, price_points: list[PricePoint],
                  started: float) -> dict:
    """The metrics.json of the collect stage (names read by notebooks 03 and 04)."""
    main = arm_metrics(result.arms["main"].manifest)
    control = arm_metrics(result.arms["control"].manifest) if "control" in result.arms else arm_metrics({})
    metrics = {
        **main,
        "teacher_params": int(teacher_params),
        "endpoint": result.endpoint,
        "bill_usd": bills(main, price_points),
        "control": {**control, "bill_usd": bills(control, price_points)},
        "traffic": (result.traffic.table() if result.traffic
                    else (result.frozen or {}).get("metrics", {}).get("traffic", [])),
        "source": source_record(result),
        "post_training": result.post_training,
        "parameters": asdict(params),
        "stage_wall_seconds": round(time.time() - started, 1),
    }
    metrics["targets"] = [t.as_dict() for t in targets(result, metrics)]
    return metrics


def headline(metrics: dict[str, Any], flagship: PricePoint) -> dict[str, str]:
    """The report index's lines for this stage."""
    return {
        "records": f"{metrics['records']:,} (+{metrics['control']['records']:,} control)",
        "throughput": f"{metrics['tokens_per_second']:.1f} tokens/s on {metrics['device']}",
        "API bill": f"${metrics['bill_usd'][flagship.label]:.4f} at {flagship.label}",
        **({"data": f"frozen collection {source['archive']} (SHA-256 {source['sha256'][:12]}…)"}
           if (source := metrics.get("source", {})).get("kind") == "frozen" else {}),
    }


def source_text(metrics: dict[str, Any]) -> str:
    """Which data the notebook used, in one paragraph (empty for a live collection)."""
    source = metrics.get("source", {})
    if source.get("kind") != "frozen":
        return ""
    rebuilt = source.get("teacher_rebuilt")
    teacher = ("" if rebuilt is None else " The provider's post-trained teacher (for notebook 04's probe of the "
               "deployed teacher) was built from the same recipe on this machine (or taken from its cache)" +
               (", with the archive's fingerprint." if rebuilt["same_as_archive"] else
                f": its fingerprint {rebuilt['fingerprint']} differs from the archive's "
                f"{source.get('teacher_fingerprint')} (another device or dtype), so its answers may differ a little."))
    return (f"**Data: a frozen collection**, not collected now. `{source['archive']}` (SHA-256 "
            f"`{source['sha256'][:16]}…`, checked) was packed on {source.get('packed_at', '?')} from a "
            f"`{source.get('profile', '?')}` run on {source.get('device', '?')}; every figure below describes that "
            f"collection (its times are that machine's).{teacher}\n\n")


ARM_COLUMNS = ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "tokens_per_second")


def arms_table(metrics: dict[str, Any]) -> dict[str, dict]:
    """Main and control side by side (columns of a DataFrame)."""
    return {"main": {k: metrics[k] for k in ARM_COLUMNS}, "control": {k: metrics["control"][k] for k in ARM_COLUMNS}}


def collected_text(metrics: dict[str, Any]) -> str:
    return source_text(metrics) + (
            f"The distiller holds **{metrics['records']:,} records** ({metrics['prompt_tokens']:,} prompt and "
            f"{metrics['completion_tokens']:,} completion tokens), collected in {metrics['wall_seconds']:.0f} s of "
            f"collection time at **{metrics['tokens_per_second']:.1f} completion tokens/s** from a "
            f"{metrics['teacher_params'] / 1e6:.1f}M-parameter teacher served on {metrics['device']}.")


def summary_text(metrics: dict[str, Any], top_logprobs: int, flagship: PricePoint, main_dir: Path) -> str:
    control = (f"a control arm of {metrics['control']['records']:,} records from the public model behind the same "
               f"API, unwatermarked" if metrics["control"]["records"] else "no control arm")
    return source_text(metrics) + (
            f"From **{metrics['endpoint']}** the distiller collected **{metrics['records']:,} records** with the top-"
            f"{top_logprobs} logprobs of every token, plus {control}. Collection took {metrics['wall_seconds']:.0f} s "
            f"at {metrics['tokens_per_second']:.1f} tokens/s on {metrics['device']}; at {flagship.label} prices it "
            f"would have cost ${metrics['bill_usd'][flagship.label]:.4f}. Records: `{main_dir}`; next, notebook 02 "
            "trains students on them.")
