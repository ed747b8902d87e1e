"""Notebook 01's stage: deploy the provider locally (or use any endpoint), collect both arms, write metrics.

Two deployments of the teacher run as real server processes:

- "main":    the provider's product (identity "Kestrel" by "Meridian Labs", watermarked);
- "control": a deployment of the same base model without watermark and with another
             identity ("Juniper" by "Oakridge AI"): the control for notebook 04's tests.

Both write to one request ledger, `<run>/collect/provider/ledger.sqlite` (accounts DB
beside it), and the main deployment's settings, with its secret watermark key, are kept
in `<run>/collect/provider/settings.json` for notebook 04. While the distiller collects
the main arm, simulated ordinary customers (`traffic`) use the same API.

An arm already complete for the same settings and prompts is not collected again; an
interrupted one is resumed.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from casestudy.aio import run_sync
from casestudy.distiller.collect import CollectSettings, CollectSummary, collect_async, is_complete, read_manifest
from casestudy.distiller.prompts import Prompt
from casestudy.distiller.traffic import TrafficSettings, TrafficSummary, run_until, simulate_traffic
from casestudy.provider.accounts import create_free_account

ARMS = ("main", "control")
PROVIDER_DIR = "provider"
DISTILLER_ACCOUNT = "distiller"
MAIN_MODEL_NAME = "kestrel-1"
CONTROL_MODEL_NAME = "juniper-1"
LOCAL_KEY_ENV = "CASESTUDY_LOCAL_API_KEY"  # where the key of the local distiller account is put


@dataclass(frozen=True)
class StageParams:
    """The notebook's parameters that shape the collection (see notebooks/01_collect.ipynb)."""

    seed: int = 0
    device: str = "auto"
    teacher: str = "embedded"
    tune_identity: bool = True       # fine-tune each deployment's identity in (cached) or use the prompt only
    samples_per_prompt: int = 2
    max_tokens: int = 48
    temperature: float = 0.7
    top_logprobs: int = 20
    concurrency: int = 16
    control_prompts: int = 8
    traffic_accounts: int = 3
    traffic_mean_gap_s: float = 12.0
    base_url: str = ""               # empty: start the local provider
    model: str = ""                  # the endpoint's model name (local provider: its own)
    api_key_env: str = "OPENAI_API_KEY"  # NAME of the variable with the key of an external endpoint
    request_timeout_s: float = 600.0  # a CPU server under load can take minutes per batch

    def __post_init__(self) -> None:
        if self.control_prompts < 0 or self.traffic_accounts < 0:
            raise ValueError(f"control_prompts and traffic_accounts must be >= 0, got "
                             f"{self.control_prompts} and {self.traffic_accounts}")
        if self.base_url and not self.model:
            raise ValueError(f"base_url={self.base_url!r} needs the endpoint's model name in `model`")

    @property
    def local(self) -> bool:
        return not self.base_url


@dataclass
class ArmResult:
    name: str
    arm_dir: Path
    summary: CollectSummary | None   # None when the arm was already complete
    manifest: dict[str, Any]


@dataclass
class StageResult:
    arms: dict[str, ArmResult] = field(default_factory=dict)
    traffic: TrafficSummary | None = None
    device: str = "unknown"
    endpoint: str = ""


def watermark_key(seed: int) -> int:
    """The main deployment's secret watermark key, derived from the seed so a run is reproducible."""
    return int.from_bytes(hashlib.sha256(f"provider-watermark:{seed}".encode()).digest()[:8], "little") >> 2


def deployment(collect_dir: Path, arm: str, params: StageParams):
    """ProviderSettings of the main or control deployment (tunes the identity on first use, cached)."""
    from casestudy.provider.identity import CONTROL_IDENTITY, PROVIDER_IDENTITY, system_prompt, tune_identity
    from casestudy.provider.identity_tune import TuneSettings
    from casestudy.provider.settings import ProviderSettings, WatermarkSettings

    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, not {arm!r}")
    identity = PROVIDER_IDENTITY if arm == "main" else CONTROL_IDENTITY
    source = str(tune_identity(params.teacher, identity, TuneSettings(seed=params.seed, device=params.device))) \
        if params.tune_identity else params.teacher
    provider_dir = Path(collect_dir) / PROVIDER_DIR
    return ProviderSettings(
        model_source=source,
        model_name=MAIN_MODEL_NAME if arm == "main" else CONTROL_MODEL_NAME,
        device=params.device,
        watermark_enabled=arm == "main",
        watermark=WatermarkSettings(key=watermark_key(params.seed)),
        system_prompt=system_prompt(identity),
        max_batch_size=max(8, params.concurrency),
        accounts_db=str((provider_dir / "accounts.sqlite").resolve()),
        ledger_db=str((provider_dir / "ledger.sqlite").resolve()),
    )


def deployment_key(settings) -> str:
    """What identifies a deployment for reuse: everything but its port and file paths."""
    data = {k: v for k, v in asdict(settings).items() if k not in ("port", "host", "accounts_db", "ledger_db")}
    return hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()[:12]


def provider_device(base_url: str) -> str:
    """The device the local provider reports on /health."""
    try:
        return httpx.get(base_url.removesuffix("/v1") + "/health", timeout=10).json().get("device", "unknown")
    except (httpx.HTTPError, ValueError):
        return "unknown"


def collect_settings(params: StageParams, base_url: str, model: str, key_env: str, endpoint: str) -> CollectSettings:
    return CollectSettings(
        base_url=base_url, model=model, api_key_env=key_env, endpoint=endpoint, max_tokens=params.max_tokens,
        temperature=params.temperature, top_logprobs=params.top_logprobs,
        samples_per_prompt=params.samples_per_prompt, concurrency=params.concurrency, seed=params.seed,
        timeout_s=params.request_timeout_s,
    )


async def collect_with_traffic(
    prompts: list[Prompt], arm_dir: Path, settings: CollectSettings, traffic_keys: dict[str, str],
    traffic: TrafficSettings, **collect_kwargs,
) -> tuple[CollectSummary, TrafficSummary | None]:
    """Collect one arm while simulated customers use the same endpoint; they stop when it ends."""
    stop = asyncio.Event()
    collecting = run_until(collect_async(prompts, arm_dir, settings, **collect_kwargs), stop)
    if not traffic_keys:
        return await collecting, None
    summary, customers = await asyncio.gather(
        collecting, simulate_traffic(settings.base_url, settings.model, traffic_keys, stop, traffic))
    return summary, customers


def run_collection(
    params: StageParams, prompts: list[Prompt], collect_dir: Path, tokenizer=None, bill=None, progress: bool = True,
) -> StageResult:
    """Collect the main arm (with simulated traffic) and the control arm; skip what is complete."""
    collect_dir = Path(collect_dir)
    control_prompts = prompts[: params.control_prompts]
    result = StageResult()
    kwargs = dict(tokenizer=tokenizer, bill=bill, progress=progress, on_change="restart")
    if not params.local:
        settings = collect_settings(params, params.base_url, params.model, params.api_key_env, "external")
        arm_dir = collect_dir / "main"
        summary = None if is_complete(arm_dir, settings, prompts) else run_sync(collect_async(
            prompts, arm_dir, settings, description="main", run_info={"device": f"external endpoint {params.base_url}"},
            **kwargs))
        result.arms["main"] = ArmResult("main", arm_dir, summary, read_manifest(arm_dir))
        result.device, result.endpoint = f"external endpoint {params.base_url}", params.base_url
        return result

    from casestudy.provider.server import running_servers

    result.endpoint = "local provider"
    todo = {}
    for arm, arm_prompts in (("main", prompts), ("control", control_prompts)):
        if not arm_prompts:
            continue
        provider = deployment(collect_dir, arm, params)
        provider.save(collect_dir / PROVIDER_DIR / ("settings.json" if arm == "main" else "control_settings.json"))
        settings = collect_settings(params, "http://127.0.0.1:1/v1", provider.model_name, LOCAL_KEY_ENV,
                                    f"local:{deployment_key(provider)}")
        arm_dir = collect_dir / arm
        if is_complete(arm_dir, settings, arm_prompts):
            result.arms[arm] = ArmResult(arm, arm_dir, None, read_manifest(arm_dir))
        else:
            todo[arm] = (provider, settings, arm_prompts)
    if not todo:
        return result
    # Start the servers together so that their model loads overlap, then collect one arm at a time.
    with running_servers(*(provider for provider, _, _ in todo.values())) as servers:
        for (arm, (provider, settings, arm_prompts)), server in zip(todo.items(), servers):
            settings = replace(settings, base_url=server.base_url)
            result.device = provider_device(server.base_url)
            _, os.environ[LOCAL_KEY_ENV] = create_free_account(provider.accounts_db, DISTILLER_ACCOUNT if arm == "main"
                                                       else f"{DISTILLER_ACCOUNT}-control", rpm=100_000, tpm=100_000_000)
            traffic_keys = {}
            if arm == "main":
                traffic_keys = dict(create_free_account(provider.accounts_db, f"customer-{i + 1:02d}")
                                    for i in range(params.traffic_accounts))
            traffic = TrafficSettings(mean_gap_s=params.traffic_mean_gap_s, seed=params.seed)
            summary, customers = run_sync(collect_with_traffic(
                arm_prompts, collect_dir / arm, settings, traffic_keys, traffic, description=arm,
                run_info={"device": result.device}, **kwargs))
            if customers is not None:
                result.traffic = customers
            result.arms[arm] = ArmResult(arm, collect_dir / arm, summary, read_manifest(collect_dir / arm))
    return result


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


def bills(arm: dict[str, Any], price_points) -> dict[str, float]:
    """The arm's API bill at each dated price point (label -> USD)."""
    from casestudy.cost.prices import api_bill

    return {p.label: round(api_bill(arm["prompt_tokens"], arm["completion_tokens"], p), 6) for p in price_points}


def stage_metrics(result: StageResult, params: StageParams, teacher_params: int, price_points, started: float) -> dict:
    """The metrics.json of the collect stage (names read by notebooks 03 and 04)."""
    main = arm_metrics(result.arms["main"].manifest)
    control = arm_metrics(result.arms["control"].manifest) if "control" in result.arms else arm_metrics({})
    main_bills, control_bills = bills(main, price_points), bills(control, price_points)
    return {
        **main,
        "teacher_params": int(teacher_params),
        "endpoint": result.endpoint,
        "bill_usd": main_bills,
        "control": {**control, "bill_usd": control_bills},
        "traffic": result.traffic.table() if result.traffic else [],
        "parameters": asdict(params),
        "stage_wall_seconds": round(time.time() - started, 1),
    }
