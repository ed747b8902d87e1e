"""Notebook 01's stage: deploy the provider locally (or use any endpoint), collect both arms, write metrics.

With an empty `base_url` the provider's two deployments (scenario.deployments) run as
server processes; the distiller collects the main arm while simulated ordinary customers
(scenario.customers) use the same API, then the control arm. The distiller itself only
gets a base URL and an API key. An arm already complete for the same settings and prompts
is not collected again; an interrupted one is resumed.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from casestudy.aio import run_sync
from casestudy.cost.prices import PricePoint, api_bill
from casestudy.distiller.collect.collector import (CollectSettings, CollectSummary, collect_async, is_complete,
                                                   read_manifest)
from casestudy.distiller.collect.prompts import Prompt
from casestudy.provider.posttrain.tune import TuneSettings, tune_info
from casestudy.scenario import deployments
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

    def __post_init__(self) -> None:
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
        "traffic": result.traffic.table() if result.traffic else [],
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
    }


ARM_COLUMNS = ("records", "prompt_tokens", "completion_tokens", "wall_seconds", "tokens_per_second")


def arms_table(metrics: dict[str, Any]) -> dict[str, dict]:
    """Main and control side by side (columns of a DataFrame)."""
    return {"main": {k: metrics[k] for k in ARM_COLUMNS}, "control": {k: metrics["control"][k] for k in ARM_COLUMNS}}


def collected_text(metrics: dict[str, Any]) -> str:
    return (f"The distiller holds **{metrics['records']:,} records** ({metrics['prompt_tokens']:,} prompt and "
            f"{metrics['completion_tokens']:,} completion tokens), collected in {metrics['wall_seconds']:.0f} s of "
            f"collection time at **{metrics['tokens_per_second']:.1f} completion tokens/s** from a "
            f"{metrics['teacher_params'] / 1e6:.1f}M-parameter teacher served on {metrics['device']}.")


def summary_text(metrics: dict[str, Any], top_logprobs: int, flagship: PricePoint, main_dir: Path) -> str:
    control = (f"a control arm of {metrics['control']['records']:,} records from the public model behind the same "
               f"API, unwatermarked" if metrics["control"]["records"] else "no control arm")
    return (f"From **{metrics['endpoint']}** the distiller collected **{metrics['records']:,} records** with the top-"
            f"{top_logprobs} logprobs of every token, plus {control}. Collection took {metrics['wall_seconds']:.0f} s "
            f"at {metrics['tokens_per_second']:.1f} tokens/s on {metrics['device']}; at {flagship.label} prices it "
            f"would have cost ${metrics['bill_usd'][flagship.label]:.4f}. Records: `{main_dir}`; next, notebook 02 "
            "trains students on them.")
