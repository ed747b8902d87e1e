"""Which of the provider's deployments run in the story, and the accounts opened on them.

Two deployments run as real server processes:

- "main":    the provider's product: the public model plus the provider's post-training
             (identity "Kestrel" by "Meridian Labs" and the worked-addition skill), watermarked;
- "control": the public model as anyone can download it, without the provider's
             post-training or watermark, introduced as another assistant ("Juniper" by
             "Oakridge AI") in its system prompt. Whatever a student learns from it did not
             come from the provider: the control of notebooks 02 and 04.

Both write to one request ledger, `<run>/collect/provider/ledger.sqlite` (accounts DB
beside it). The main deployment's settings, with its secret watermark key (derived from
the seed so that a run is reproducible), are kept in `<run>/collect/provider/settings.json`
for the provider's tests in notebook 04. The distiller gets nothing from here but a base
URL and an API key.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import httpx

from casestudy.provider.accounts import create_free_account
from casestudy.provider.posttrain.identity import CONTROL_IDENTITY, PROVIDER_IDENTITY, system_prompt
from casestudy.provider.posttrain.tune import TuneSettings
from casestudy.provider.settings import ANSWER_FIELDS, ProviderSettings, WatermarkSettings

ARMS = ("main", "control")
PROVIDER_DIR = "provider"              # under <run>/collect/
MODEL_NAMES = {"main": "kestrel-1", "control": "juniper-1"}
IDENTITIES = {"main": PROVIDER_IDENTITY, "control": CONTROL_IDENTITY}
SETTINGS_FILES = {"main": "settings.json", "control": "control_settings.json"}
DISTILLER_ACCOUNT = "distiller"        # the distiller's account; "distiller-control" on the control deployment
CUSTOMER_ACCOUNT = "customer"          # simulated ordinary customers: customer-01, customer-02, ...
UNLIMITED = dict(rpm=100_000, tpm=100_000_000)  # the distiller pays for a high tier


def watermark_key(seed: int) -> int:
    """The main deployment's secret watermark key, derived from the seed so a run is reproducible."""
    return int.from_bytes(hashlib.sha256(f"provider-watermark:{seed}".encode()).digest()[:8], "little") >> 2


def deployment(collect_dir: Path, arm: str, teacher: str, post_train: TuneSettings | None, seed: int, device: str,
               concurrency: int) -> ProviderSettings:
    """ProviderSettings of the main or control deployment.

    `teacher` is the public model; the main deployment serves it with the provider's
    post-training (`post_train`, tuned on first use and cached; None serves it as is, the
    identity then only in the system prompt). The control always serves the public model.
    `concurrency` is how many requests the distiller keeps in flight: the deployment
    batches at least that many rows together.
    """
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, not {arm!r}")
    identity = IDENTITIES[arm]
    source = teacher
    if arm == "main" and post_train is not None:
        from casestudy.provider.posttrain.tune import post_train as tune

        source = str(tune(teacher, identity, post_train))
    provider_dir = Path(collect_dir) / PROVIDER_DIR
    return ProviderSettings(
        model_source=source,
        model_name=MODEL_NAMES[arm],
        device=device,
        precision="auto",                  # bf16 where the hardware multiplies it natively, as labs serve
        watermark_enabled=arm == "main",
        watermark=WatermarkSettings(key=watermark_key(seed)),
        system_prompt=system_prompt(identity),
        max_batch_size=max(8, concurrency),
        accounts_db=str((provider_dir / "accounts.sqlite").resolve()),
        ledger_db=str((provider_dir / "ledger.sqlite").resolve()),
    )


def deployment_key(settings: ProviderSettings) -> str:
    """What identifies a deployment for reuse: the fields that decide its answers (`ANSWER_FIELDS`),
    not its address, limits, timeouts or files (and `precision` left out at its default)."""
    data = {k: v for k, v in asdict(settings).items()
            if k in ANSWER_FIELDS and not (k == "precision" and not v)}
    return hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()[:12]


def save_deployment(collect_dir: Path, arm: str, settings: ProviderSettings) -> Path:
    """Keep a deployment's settings beside its ledger (the main one holds the secret key)."""
    return settings.save(Path(collect_dir) / PROVIDER_DIR / SETTINGS_FILES[arm])


def load_deployment(collect_dir: Path, arm: str = "main") -> ProviderSettings:
    """The provider's saved deployment settings (they hold the secret watermark key)."""
    path = Path(collect_dir) / PROVIDER_DIR / SETTINGS_FILES[arm]
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run notebook 01_collect first")
    return ProviderSettings.load(path)


def ledger_path(collect_dir: Path) -> Path:
    """The request ledger both deployments write."""
    return Path(collect_dir) / PROVIDER_DIR / "ledger.sqlite"


def distiller_key(settings: ProviderSettings, arm: str) -> str:
    """Open the distiller's account on a deployment; return its API key."""
    name = DISTILLER_ACCOUNT if arm == "main" else f"{DISTILLER_ACCOUNT}-control"
    return create_free_account(settings.accounts_db, name, **UNLIMITED)[1]


def customer_keys(settings: ProviderSettings, count: int) -> dict[str, str]:
    """Open `count` ordinary customers' accounts (default limits): account name -> API key."""
    return dict(create_free_account(settings.accounts_db, f"{CUSTOMER_ACCOUNT}-{i + 1:02d}") for i in range(count))


def provider_device(base_url: str) -> str:
    """The device a running deployment reports on /health."""
    try:
        return httpx.get(base_url.removesuffix("/v1") + "/health", timeout=10).json().get("device", "unknown")
    except (httpx.HTTPError, ValueError):
        return "unknown"
