"""Collect both arms: from the local provider's deployments (with simulated customers) or any endpoint."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from casestudy.aio import run_sync
from casestudy.distiller.collect.collector import collect_async
from casestudy.distiller.collect.manifest import is_complete, read_manifest
from casestudy.distiller.collect.settings import CollectSettings
from casestudy.distiller.collect.prompts import Prompt
from casestudy.scenario import deployments
from casestudy.scenario.customers import TrafficSettings, alongside
from casestudy.stages.collect.metrics import post_training_record
from casestudy.stages.collect.params import LOCAL_KEY_ENV, Params
from casestudy.stages.collect.restore import restore_frozen
from casestudy.stages.collect.result import ArmResult, StageResult
from casestudy.stages.collect.workspace import control_prompts


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
    for arm, arm_prompts in (("main", prompts), ("control", control_prompts(params, prompts))):
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
