"""Everything a provider deployment is configured with, as one JSON-serialisable dataclass."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from casestudy.provider.private import write_private_text


def _random_key() -> int:
    # The key is the provider's secret: a fresh one unless the deployment pins it.
    return secrets.randbits(62)


@dataclass
class WatermarkSettings:
    """Green-list watermark (Kirchenbauer et al.) as transformers' WatermarkingConfig takes it."""

    key: int = field(default_factory=_random_key)  # hashing key: the provider's secret
    greenlist_ratio: float = 0.25                   # share of the vocabulary that is green
    bias: float = 2.0                               # added to green logits before sampling
    seeding_scheme: str = "lefthash"                # "lefthash" (fast) or "selfhash"
    context_width: int = 1                          # tokens the green list is seeded from
    mark_greedy: bool = True                        # bias greedy (temperature 0) rows too; False serves them
                                                    # unmarked (measured: no gain in accuracy, see docs/provider.md)

    def __post_init__(self) -> None:
        if not 0.0 < self.greenlist_ratio < 1.0:
            raise ValueError(f"greenlist_ratio must be in (0, 1), not {self.greenlist_ratio!r}")
        if self.seeding_scheme not in ("lefthash", "selfhash"):
            raise ValueError(f"seeding_scheme must be 'lefthash' or 'selfhash', not {self.seeding_scheme!r}")
        if self.context_width < 1:
            raise ValueError(f"context_width must be >= 1, not {self.context_width!r}")


# What a deployment answers depends on these fields alone; the others (where it listens, its limits, its
# timeouts, its worker threads) decide only which requests it takes and how fast. A collection is reused
# across changes to the others (`scenario.deployments.deployment_key`).
ANSWER_FIELDS = ("model_source", "model_name", "device", "precision", "watermark_enabled", "watermark",
                 "system_prompt", "max_batch_size", "max_batch_tokens", "prefill_tokens", "default_max_tokens")


@dataclass
class ProviderSettings:
    """One deployment: which model, under which name, with which identity and limits."""

    model_source: str = "embedded"       # "embedded", a save_pretrained folder or a hub id
    model_name: str = "kestrel-1"        # the name clients pass as `model`
    device: str = "auto"                 # casestudy.device.pick_device rule
    precision: str = ""                  # "" the device's dtype; "auto": bf16 where native (the story's
                                         # deployments and the distiller's students), "bf16", "fp32"
    host: str = "127.0.0.1"
    port: int = 8000
    allow_remote: bool = False           # must be set to bind a non-loopback host
    watermark_enabled: bool = True       # False for the control arm
    watermark: WatermarkSettings = field(default_factory=WatermarkSettings)
    system_prompt: str = ""              # the deployment's identity, prepended to every chat
    batch_window_ms: float = 20.0        # how long a request reaching an idle engine waits for company
    batch_window_share: float = 0.05     # unused since continuous batching; kept so saved settings load
    max_batch_size: int = 32             # rows (requests x n) generating at once
    max_batch_tokens: int = 65_536       # KV-cache budget: rows generating at once x the widest row's
                                         # prompt + max_tokens; a request over it alone gets a 400
    prefill_tokens: int = 0              # longer prompts are prefilled in chunks beside decoding rows; at
                                         # least this many prompt tokens per step; 0: 256 on the CPU, 2048 on CUDA
    default_max_tokens: int = 256        # when a request gives no max_tokens
    max_tokens_cap: int = 1024           # largest max_tokens accepted
    n_cap: int = 8                       # largest n accepted
    max_body_bytes: int = 1_000_000      # larger request bodies get a 413
    header_timeout_s: float = 5.0        # a connection's request head must be complete this long after its
                                         # first byte (or the connection's start), else it is closed
    body_timeout_s: float = 10.0         # a request's body must be complete this long after its head: a 408
                                         # while the app reads it, else (a body nobody reads) the connection closes
    timeout_keep_alive_s: int = 5        # uvicorn's: an idle connection between requests is closed after this
    parse_workers: int = 2               # threads that parse and tokenize request bodies (not the default pool:
                                         # keys, rate limits and the ledger keep theirs)
    default_rpm: int = 600               # per-account limits when the account sets none
    default_tpm: int = 1_000_000
    accounts_db: str = "provider/accounts.sqlite"
    ledger_db: str = "provider/ledger.sqlite"

    def __post_init__(self) -> None:
        if isinstance(self.watermark, dict):
            self.watermark = WatermarkSettings(**self.watermark)
        for name in ("max_batch_size", "max_batch_tokens", "default_max_tokens", "max_tokens_cap", "n_cap",
                     "max_body_bytes", "default_rpm", "default_tpm", "timeout_keep_alive_s", "parse_workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, not {getattr(self, name)!r}")
        for name in ("header_timeout_s", "body_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, not {getattr(self, name)!r}")
        if self.prefill_tokens < 0:
            raise ValueError(f"prefill_tokens must be >= 0, not {self.prefill_tokens!r}")
        if self.batch_window_ms < 0:
            raise ValueError(f"batch_window_ms must be >= 0, not {self.batch_window_ms!r}")
        if not 0 <= self.batch_window_share <= 1:
            raise ValueError(f"batch_window_share must be between 0 and 1, not {self.batch_window_share!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ProviderSettings":
        return cls(**json.loads(text))

    def save(self, path: str | Path) -> Path:
        """Write the settings as JSON, readable by the owner only (they hold the watermark key)."""
        return write_private_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "ProviderSettings":
        return cls.from_json(Path(path).read_text())
