"""Notebook 01's parameters, checked, and the ones a frozen collection must share with them."""

from __future__ import annotations

from dataclasses import dataclass

from casestudy.provider.posttrain.tune import TuneSettings
from casestudy.stages.contract import StageParams, check_choice, check_range

LOCAL_KEY_ENV = "CASESTUDY_LOCAL_API_KEY"  # where the key of the local distiller account is put
DEVICES = ("auto", "cpu", "cuda")
MAX_TOP_LOGPROBS = 20                      # OpenAI's API cap
MAX_TEMPERATURE = 2.0                      # OpenAI's API range: [0, 2]

# The parameters a frozen collection must share with the notebook's (the others, e.g. concurrency
# or request_timeout_s, change how fast it was collected, not what; the prompts are checked by their hash).
FROZEN_MATCH = ("seed", "teacher", "post_train", "post_train_steps", "skill_examples", "samples_per_prompt",
                "max_tokens", "temperature", "eval_temperature", "top_logprobs", "control_prompts",
                "traffic_accounts", "traffic_mean_gap_s", "base_url", "model")


@dataclass(frozen=True, kw_only=True)
class Params(StageParams):
    """Notebook 01's parameters (its parameters cell is the one source of their defaults)."""

    NOTEBOOK = "01_collect"

    profile: str
    seed: int
    device: str                # where the local provider runs the teacher: auto, cpu or cuda
    teacher: str               # "embedded" or a model folder / hub id
    post_train: bool           # the main deployment serves the public model + the provider's post-training
    post_train_steps: int      # its optimizer steps (0: one pass over its examples)
    skill_examples: int        # its bought translations
    num_prompts: int           # ordinary prompts asked, spread over families and splits
    skill_prompts: int         # prompts about the provider's skill (SKILL_FAMILY)
    gold_checks: int           # held-out prompts per ordinary gold family (sentiment, factual), at least
    check_items: int           # the provider's product check: items per family (0: none)
    samples_per_prompt: int
    max_tokens: int
    temperature: float
    eval_temperature: float    # held-out prompts: the teacher is measured as the students are (0: greedy)
    top_logprobs: int
    concurrency: int
    control_prompts: int
    traffic_accounts: int
    traffic_mean_gap_s: float
    request_timeout_s: float
    base_url: str              # empty: start the local provider
    model: str                 # the endpoint's model name (local provider: its own)
    api_key_env: str           # NAME of the variable with the key of an external endpoint
    prompt_file: str           # empty: data/prompts/prompts.jsonl
    source: str                # "live" (serve and collect), "frozen" (data/frozen/<profile>-collect.tar.xz) or an archive path

    def __post_init__(self) -> None:
        if self.source not in ("live", "frozen") and not self.source.endswith((".tar.xz", ".tar.gz", ".tar")):
            raise ValueError(f"source must be 'live', 'frozen' or the path of a frozen archive (.tar.xz), "
                             f"not {self.source!r}")
        if self.source != "live" and self.base_url:
            raise ValueError("a frozen collection replays the local provider: leave base_url empty")
        if self.base_url and not self.model:
            raise ValueError(f"base_url={self.base_url!r} needs the endpoint's model name in `model`")
        check_choice("device", self.device, DEVICES)
        if not self.teacher:
            raise ValueError("teacher must name a model: 'embedded', a model folder or a hub id")
        for name in ("post_train_steps", "skill_examples", "num_prompts", "skill_prompts", "control_prompts",
                     "traffic_accounts"):
            check_range(name, getattr(self, name), 0)
        if self.num_prompts + self.skill_prompts == 0:
            raise ValueError("num_prompts and skill_prompts are both 0: there is nothing to ask")
        for name in ("samples_per_prompt", "max_tokens", "concurrency"):
            check_range(name, getattr(self, name), 1)
        check_range("temperature", self.temperature, 0.0, MAX_TEMPERATURE)
        check_range("eval_temperature", self.eval_temperature, 0.0, MAX_TEMPERATURE)
        check_range("top_logprobs", self.top_logprobs, 0, MAX_TOP_LOGPROBS)
        check_range("traffic_mean_gap_s", self.traffic_mean_gap_s, 0.0)
        if not self.request_timeout_s > 0:
            raise ValueError(f"request_timeout_s must be > 0, not {self.request_timeout_s!r}")

    @property
    def local(self) -> bool:
        return not self.base_url

    def tune_settings(self) -> TuneSettings | None:
        """The provider's post-training (None: the public model served as is).

        Its seed is the provider's, not the run's: the provider sells one product,
        whichever seed the distiller's side of a run uses."""
        if not self.post_train:
            return None
        return TuneSettings(steps=self.post_train_steps, skill_examples=self.skill_examples, device=self.device)
