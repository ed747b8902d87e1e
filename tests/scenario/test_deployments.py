"""The story's deployments: the derived watermark key, the two deployments' settings, the accounts."""

from dataclasses import fields, replace

import pytest

from casestudy.provider.accounts import create_free_account
from casestudy.provider.posttrain.identity import CONTROL_IDENTITY, PROVIDER_IDENTITY
from casestudy.provider.settings import ANSWER_FIELDS, ProviderSettings
from casestudy.scenario import deployments


def test_watermark_key_is_stable_and_seeded():
    assert deployments.watermark_key(0) == deployments.watermark_key(0) != deployments.watermark_key(1)
    assert 0 < deployments.watermark_key(0) < 2**62


def test_main_and_control_deployments(tmp_path):
    main = deployments.deployment(tmp_path, "main", "embedded", None, seed=3, device="cpu", concurrency=4)
    control = deployments.deployment(tmp_path, "control", "embedded", None, seed=3, device="cpu", concurrency=40)
    assert main.watermark_enabled and not control.watermark_enabled
    assert main.watermark.key == deployments.watermark_key(3)
    assert PROVIDER_IDENTITY.name in main.system_prompt and CONTROL_IDENTITY.name in control.system_prompt
    assert (main.max_batch_size, control.max_batch_size) == (8, 40)
    assert main.precision == control.precision == "auto"   # bf16 where native, as labs serve
    assert main.ledger_db == control.ledger_db == str(deployments.ledger_path(tmp_path).resolve())
    assert deployments.deployment_key(main) != deployments.deployment_key(control)
    assert deployments.deployment_key(replace(main, precision="bf16")) != deployments.deployment_key(main)
    with pytest.raises(ValueError, match="arm must be one of"):
        deployments.deployment(tmp_path, "other", "embedded", None, seed=3, device="cpu", concurrency=4)


def test_deployment_key_follows_what_decides_the_answers_only(tmp_path):
    main = deployments.deployment(tmp_path, "main", "embedded", None, seed=3, device="cpu", concurrency=4)
    key = deployments.deployment_key(main)
    operational = [f.name for f in fields(ProviderSettings) if f.name not in ANSWER_FIELDS]
    assert set(ANSWER_FIELDS) < {f.name for f in fields(ProviderSettings)}
    assert {"port", "header_timeout_s", "parse_workers", "default_rpm", "ledger_db"} <= set(operational)
    changed = {"host": "0.0.0.0", "port": 1, "allow_remote": True, "batch_window_ms": 0.0, "batch_window_share": 0.5,
               "max_tokens_cap": 2, "n_cap": 2, "max_body_bytes": 2, "header_timeout_s": 1.0, "body_timeout_s": 1.0,
               "timeout_keep_alive_s": 1, "parse_workers": 7, "default_rpm": 2, "default_tpm": 2,
               "accounts_db": "x.sqlite", "ledger_db": "y.sqlite"}
    assert set(changed) == set(operational), "a new ProviderSettings field: add it to ANSWER_FIELDS or here"
    assert deployments.deployment_key(replace(main, **changed)) == key
    for name, value in {"system_prompt": "other", "max_batch_size": 3, "default_max_tokens": 5,
                        "watermark_enabled": False, "model_name": "other-1"}.items():
        assert deployments.deployment_key(replace(main, **{name: value})) != key, name
    assert deployments.deployment_key(replace(main, watermark=replace(main.watermark, bias=1.0))) != key


def test_saved_settings_round_trip_and_a_missing_file_names_the_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="01_collect"):
        deployments.load_deployment(tmp_path)
    main = deployments.deployment(tmp_path, "main", "embedded", None, seed=0, device="cpu", concurrency=4)
    deployments.save_deployment(tmp_path, "main", main)
    assert deployments.load_deployment(tmp_path) == main


def test_accounts_pick_free_names(tmp_path):
    db = str(tmp_path / "accounts.sqlite")
    first, key1 = create_free_account(db, "distiller")
    second, key2 = create_free_account(db, "distiller")
    assert (first, second) == ("distiller", "distiller-2") and key1 != key2
    settings = deployments.deployment(tmp_path, "main", "embedded", None, seed=0, device="cpu", concurrency=4)
    assert list(deployments.customer_keys(settings, 2)) == ["customer-01", "customer-02"]
    assert deployments.distiller_key(settings, "control")
