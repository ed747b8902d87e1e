"""The dated price table: API prices per 1M tokens, device-hour prices and power, and the price of
paid translation (the skill's data).

`load_price_table` and `api_bill` are also used by the collector (notebook 01) to show
the money a collection would have cost: keep their names and signatures stable.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from casestudy.paths import DATA_DIR

PRICE_FILE = DATA_DIR / "prices.toml"
TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass(frozen=True)
class PricePoint:
    """One API model or tier at one date: USD per 1M input and output tokens."""

    name: str
    tier: str
    input_usd_per_1m: float
    output_usd_per_1m: float
    as_of: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.as_of})"


@dataclass(frozen=True)
class HardwarePrice:
    """One device kind: USD per device-hour, power while busy and dense BF16 peak."""

    name: str
    kind: str              # "gpu" (priced per GPU) or "cpu" (priced per core)
    usd_per_hour: float
    watts: float
    peak_tflops_bf16: float
    as_of: str
    source: str


@dataclass(frozen=True)
class AnnotationPrice:
    """Paid human work on the skill's data: USD per English word translated (modelled, with its source)."""

    name: str
    usd_per_word: float
    as_of: str
    source: str


def _read(path: str | Path | None) -> dict:
    path = Path(path) if path else PRICE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"price table {path} does not exist")
    return tomllib.loads(path.read_text())


def _check_non_negative(entry: dict, keys: tuple[str, ...], path) -> None:
    for key in keys:
        value = entry.get(key)
        if not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{path}: entry {entry.get('name')!r} has bad {key} = {value!r}")


def load_price_table(path: str | Path | None = None) -> list[PricePoint]:
    """The API price points of `path` (default data/prices.toml), in file order."""
    table = _read(path)
    points = []
    for entry in table.get("api", []):
        _check_non_negative(entry, ("input_usd_per_1m", "output_usd_per_1m"), path or PRICE_FILE)
        points.append(PricePoint(**{key: entry[key] for key in PricePoint.__dataclass_fields__}))
    return points


def load_hardware_table(path: str | Path | None = None) -> list[HardwarePrice]:
    """The device-hour prices and power figures of `path` (default data/prices.toml)."""
    table = _read(path)
    rows = []
    for entry in table.get("hardware", []):
        _check_non_negative(entry, ("usd_per_hour", "watts", "peak_tflops_bf16"), path or PRICE_FILE)
        rows.append(HardwarePrice(**{key: entry[key] for key in HardwarePrice.__dataclass_fields__}))
    return rows


def load_annotation_table(path: str | Path | None = None) -> list[AnnotationPrice]:
    """The annotation (translation) prices of `path` (default data/prices.toml)."""
    table = _read(path)
    rows = []
    for entry in table.get("annotation", []):
        _check_non_negative(entry, ("usd_per_word",), path or PRICE_FILE)
        rows.append(AnnotationPrice(**{key: entry[key] for key in AnnotationPrice.__dataclass_fields__}))
    return rows


def find_price(points: list, name: str):
    """The price point (or any named entry) called `name`; a clear error listing the known names otherwise."""
    for point in points:
        if point.name == name:
            return point
    raise KeyError(f"no price point named {name!r}; known: {[p.name for p in points]}")


def api_bill(prompt_tokens: int, completion_tokens: int, price_point: PricePoint) -> float:
    """USD for `prompt_tokens` input and `completion_tokens` output tokens at `price_point`."""
    if prompt_tokens < 0 or completion_tokens < 0:
        raise ValueError(f"token counts must be >= 0, got {prompt_tokens}, {completion_tokens}")
    return (
        prompt_tokens * price_point.input_usd_per_1m + completion_tokens * price_point.output_usd_per_1m
    ) / TOKENS_PER_PRICE_UNIT
