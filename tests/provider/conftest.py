"""Fixtures: a tiny random Llama with the teacher's tokenizer, and real server processes
serving it with and without the watermark."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from casestudy.provider.server import running_servers
from casestudy.provider.settings import ProviderSettings, WatermarkSettings
from casestudy.models import embedded_model_dir

MODEL_NAME = "tiny"
CONTEXT = 256  # small, so that a too-long prompt is cheap to send
# A strong bias: a random model's next-token distribution is near-uniform, so the
# green share of its output goes from ~25% to ~95%.
WATERMARK = WatermarkSettings(key=20240229, greenlist_ratio=0.25, bias=4.0)


@pytest.fixture(scope="session")
def tokenizer():
    tok = AutoTokenizer.from_pretrained(embedded_model_dir())
    tok.padding_side = "left"
    return tok


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer):
    path = tmp_path_factory.mktemp("tiny-model")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=CONTEXT,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def tiny_settings(model_dir, workdir, **overrides) -> ProviderSettings:
    values = dict(
        model_source=str(model_dir), model_name=MODEL_NAME, device="cpu", watermark=WATERMARK,
        system_prompt="You are Kestrel, a model by Meridian Labs.", max_tokens_cap=16, n_cap=4,
        max_batch_size=16, batch_window_ms=200, max_body_bytes=20_000,
        accounts_db=str(workdir / "accounts.sqlite"), ledger_db=str(workdir / "ledger.sqlite"),
    )
    values.update(overrides)
    return ProviderSettings(**values)


@pytest.fixture(scope="session")
def servers(tmp_path_factory, tiny_model_dir):
    """(watermarked provider, unwatermarked control), both serving the tiny model."""
    marked = tiny_settings(tiny_model_dir, tmp_path_factory.mktemp("provider"))
    control = tiny_settings(tiny_model_dir, tmp_path_factory.mktemp("control"), watermark_enabled=False)
    with running_servers(marked, control) as handles:
        yield handles


@pytest.fixture(scope="session")
def server(servers):
    return servers[0]


@pytest.fixture(scope="session")
def control_server(servers):
    return servers[1]


@pytest.fixture(scope="session")
def api_key(server):
    return server.create_account("alice")
