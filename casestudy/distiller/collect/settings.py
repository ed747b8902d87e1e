"""A collection's settings (`CollectSettings`, checked on construction) and the API key they name."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from casestudy.distiller.collect.prompts import Prompt
from casestudy.distiller.collect.retry import RetryPolicy

MAX_TOP_LOGPROBS = 20  # the OpenAI API's limit

# Settings that change what a record contains: a folder collected with other values is stale.
GENERATION_KEYS = ("model", "max_tokens", "temperature", "eval_temperature", "top_p", "top_logprobs", "seed",
                   "samples_per_prompt", "endpoint")


@dataclass(frozen=True, kw_only=True)
class CollectSettings:
    """One collection's settings. The values a run chooses have no default here: notebook 01's
    parameters (through stages.collect) and the command line's options are their one source."""

    base_url: str                          # e.g. "http://127.0.0.1:8000/v1"
    model: str                             # the served model name
    api_key_env: str                       # NAME of the environment variable holding the key
    more_key_envs: tuple[str, ...] = ()    # more accounts' key variables, used side by side (keyring)
    spare_key_envs: tuple[str, ...] = ()   # fresh accounts' key variables, each used once another is blocked
    max_tokens: int
    temperature: float
    top_logprobs: int                      # 0 = no logprobs
    samples_per_prompt: int
    concurrency: int                       # requests in flight
    seed: int
    timeout_s: float                       # per request
    endpoint: str = "custom"               # a label for where base_url points ("local provider", ...)
    eval_temperature: float | None = None  # held-out (split "eval") prompts; None: `temperature`
    top_p: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, not {self.base_url!r}")
        if not self.model:
            raise ValueError("model must be a non-empty model name")
        if not 0 <= self.top_logprobs <= MAX_TOP_LOGPROBS:
            raise ValueError(f"top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}, not {self.top_logprobs}")
        for name in ("max_tokens", "samples_per_prompt", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, not {getattr(self, name)}")
        for name in ("temperature", "eval_temperature"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 2:
                raise ValueError(f"{name} must be between 0 and 2, not {value}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, not {self.timeout_s}")
        envs = [self.api_key_env, *self.more_key_envs, *self.spare_key_envs]
        if len(set(envs)) != len(envs):
            raise ValueError(f"each account needs its own key variable, not {envs}")

    def key_envs(self) -> list[str]:
        """The accounts used from the start: `api_key_env` first, then `more_key_envs`."""
        return [self.api_key_env, *self.more_key_envs]

    def generation(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in GENERATION_KEYS}

    def temperature_for(self, prompt: Prompt) -> float:
        """The sampling temperature asked for `prompt`: held-out prompts may be asked greedily,
        so that the teacher is measured the way the students will be."""
        if prompt.split == "eval" and self.eval_temperature is not None:
            return self.eval_temperature
        return self.temperature


def api_key_from_env(name: str) -> str:
    """The API key held by the environment variable `name`; a clear error when it is unset."""
    key = os.environ.get(name)
    if not key:
        raise KeyError(f"environment variable {name!r} (api_key_env) is not set or empty: put the API key there")
    return key
