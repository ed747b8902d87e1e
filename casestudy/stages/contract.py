"""What passes between the notebooks: each stage's `Params` and its `metrics.json`.

Every stage module (`stages/<x>.py`) defines

- `Params`, a frozen dataclass (subclassing `StageParams`) whose fields are exactly its
  notebook's parameters: the notebook builds it from its parameters cell with
  `Params.from_namespace(globals())`, `__post_init__` rejects a bad value, and the runner
  builds it from a profile before papermill starts, so a misspelt parameter or a bad value
  fails before any work (tests/test_profiles.py checks every profile in data/profiles.toml);
- `Metrics`, a pydantic model (subclassing `StageMetrics`) that is the `metrics.json`
  contract: the notebook writes it, and later stages, the spread and the publisher read it
  with `Metrics.read(stage_dir)`, which fails on a missing, renamed or unknown key.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar, Iterable

from pydantic import BaseModel, ConfigDict, ValidationError

from casestudy.artifacts import METRICS_FILE, fingerprint, write_json_atomic
from casestudy.targets import Target

# Parameters that name or place a run but do not change what its stage computes.
NOT_FINGERPRINTED = ("profile",)


class StageParams:
    """Base of every stage's frozen `Params` dataclass (see the module docstring)."""

    NOTEBOOK: ClassVar[str]  # e.g. "02_distill"

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any]):
        """Build from a notebook's globals: exactly the dataclass's fields, each of which must be there."""
        missing = [f.name for f in fields(cls) if f.name not in namespace]
        if missing:
            raise TypeError(f"{cls.NOTEBOOK}'s parameters lack {missing}")
        return cls(**{f.name: namespace[f.name] for f in fields(cls)})

    @classmethod
    def from_values(cls, values: dict[str, Any]):
        """Build from a mapping of parameter values; an unknown name is an error listing the valid ones."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise TypeError(f"{cls.NOTEBOOK} has no parameter {unknown}; valid: {', '.join(sorted(names))}")
        return cls(**values)

    @classmethod
    def defaults(cls, **changes):
        """The notebook's parameters cell (the smoke profile), with `changes`."""
        from casestudy.profiles import notebook_defaults

        return cls.from_values({**notebook_defaults(cls.NOTEBOOK), **changes})

    def values(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self, inputs: Iterable[Path] = ()) -> str:
        """A content hash of the parameters that shape the stage's outputs and of its input files."""
        return fingerprint({k: v for k, v in self.values().items() if k not in NOT_FINGERPRINTED}, inputs)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    """A clear error naming the bad value and the valid ones."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, not {value!r}")


def check_range(name: str, value: float, low: float | None = None, high: float | None = None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{name} must be in {bounds}, not {value!r}")


def plain(value: Any) -> Any:
    """JSON-ready values: numpy scalars (a numpy bool would be written "True") as Python ones, NaN kept."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value.item() if hasattr(value, "item") and type(value).__module__ == "numpy" else value


class Record(BaseModel):
    """A part of a metrics.json: every key declared, no other key accepted."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class StageMetrics(Record):
    """Base of every stage's `Metrics`: its targets and the report index's headline lines."""

    STAGE: ClassVar[str]  # the stage's folder in a run: "collect", "distill", "cost", "detect"

    targets: list[Target] = []
    headline: dict[str, str] = {}

    def write(self, stage_dir: Path) -> Path:
        return write_json_atomic(Path(stage_dir) / METRICS_FILE, plain(self.model_dump(mode="python")))

    @classmethod
    def read(cls, stage_dir: Path):
        """Read `<stage_dir>/metrics.json`: a clear error when the stage has not run or wrote another contract."""
        import json

        path = Path(stage_dir) / METRICS_FILE
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: run the notebook of stage '{cls.STAGE}' first")
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except ValidationError as error:
            raise ValueError(f"{path} does not match the {cls.STAGE} stage's contract "
                             f"(rerun that notebook with this code):\n{error}") from None
