"""Self-Instruct expansion: cleaning, filters, ROUGE-L de-duplication, and a run against an endpoint."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from casestudy.distiller.collect.expand import (
    ExpandSettings, NoveltyFilter, clean_candidate, expand, expand_async, main, rejection_reason,
)
from casestudy.distiller.collect.prompts import Prompt, load_prompts, write_prompts
from tests.distiller.collect.fake_openai import FakeConfig, serve

KEY_ENV = "FAKE_OPENAI_KEY_FOR_EXPAND"


def prompt(pid: str, family: str, split: str, text: str) -> Prompt:
    return Prompt(pid, family, split, ({"role": "user", "content": text},))


SEEDS = [
    prompt("h1", "howto", "train", "Explain how to boil an egg."),
    prompt("h2", "howto", "train", "Describe how to plant a tomato seedling."),
    prompt("h3", "howto", "eval", "Tell me how to tie a bowline knot."),
    prompt("c1", "creative", "train", "Write a short poem about autumn leaves."),
]


@pytest.mark.parametrize("raw, cleaned", [
    ("3. Explain how tides work.\nMore text", "Explain how tides work."),
    ('  "Write a limerick about a cat."  ', "Write a limerick about a cat."),
    ("Instruction: List three uses of vinegar.", "List three uses of vinegar."),
    ("\n\n- Summarise the plot of Hamlet.", "Summarise the plot of Hamlet."),
    ("", ""),
])
def test_clean_candidate(raw, cleaned):
    assert clean_candidate(raw) == cleaned


@pytest.mark.parametrize("text, reason", [
    ("Explain how tides work.", None),
    ("Hi", "too short"),
    (" ".join(["word"] * 61), "too long"),
    ("42 is the answer to what?", "does not start with a letter"),
    ("Describe the image below in detail.", "needs an image, file or link"),
    ("Décrivez éèàùç ôî ëï ÿü œæ ñ.", "not mostly ASCII"),
    ("Here's a new question for you:", "a preamble, not an instruction"),
    ("Once upon a time a fox lived here.", "does not open like an instruction"),
    ("Explain how magnets work.", None),
])
def test_rejection_reasons(text, reason):
    assert rejection_reason(text, ExpandSettings(), openers={"explain", "write", "describe"}) == reason


def test_novelty_filter_drops_near_copies_and_remembers_what_it_admits():
    novelty = NoveltyFilter(["Explain how to boil an egg."], cutoff=0.7)
    assert not novelty.admit("Explain how to boil an egg, please.")  # ROUGE-L F = 0.83
    assert novelty.admit("Write a haiku about winter mornings.")
    assert not novelty.admit("Write a haiku about winter mornings!")  # now a copy of an admitted one
    assert novelty.closest("Completely unrelated words here") < 0.3


class ScriptedClient:
    """Stands in for AsyncOpenAI: answers from a list, records the messages it was sent."""

    def __init__(self, answers: list[str]):
        self.answers, self.sent = list(answers), []
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self.create))

    async def create(self, **request):
        self.sent.append(request["messages"][0]["content"])
        text = self.answers.pop(0) if self.answers else "x"
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text))])


def test_expansion_keeps_novel_instructions_and_counts_every_rejection():
    client = ScriptedClient([
        "1. Explain how to change a bicycle tyre.",       # kept
        "Explain how to boil an egg.",                     # copy of a seed
        "Describe the photo you see.",                     # needs an image
        "Ok",                                              # too short
        "Here's another one:",                             # a preamble
        "Explain how to change a bicycle tyre!",           # copy of the first
        "Describe how to sharpen a kitchen knife safely.", # kept: quota of 2 reached
        "Explain how to fold a paper crane.",              # over quota (same wave)
    ])
    settings = ExpandSettings(per_family=2, concurrency=8, max_requests_per_family=8, seed=1)
    result = asyncio.run(expand_async(SEEDS, client, "m", settings, families=["howto"], progress=False))
    assert [p.text for p in result.accepted] == ["Explain how to change a bicycle tyre.",
                                                 "Describe how to sharpen a kitchen knife safely."]
    assert [p.id for p in result.accepted] == ["gen-howto-0000", "gen-howto-0001"]
    assert all(p.split == "train" and p.family == "howto" and p.gold is None for p in result.accepted)
    assert result.rejected == {"near-copy (ROUGE-L)": 2, "needs an image, file or link": 1, "too short": 1,
                               "a preamble, not an instruction": 1, "over quota": 1}
    assert result.requests == {"howto": 8}
    assert not any("bowline" in sent for sent in client.sent)  # eval prompts never shown as seeds


def test_expansion_stops_at_the_request_limit():
    client = ScriptedClient(["Ok"] * 20)
    settings = ExpandSettings(per_family=3, concurrency=4, max_requests_per_family=10)
    result = asyncio.run(expand_async(SEEDS, client, "m", settings, families=["creative"], progress=False))
    assert result.accepted == [] and result.requests == {"creative": 10} and result.rejected == {"too short": 10}


def test_against_an_endpoint_with_a_429_and_through_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-fake")
    config = FakeConfig(script=[("429", 0.1)])
    with serve(config) as base_url:
        settings = ExpandSettings(per_family=2, concurrency=4, max_requests_per_family=12)
        result = expand(SEEDS, base_url, "fake-model", KEY_ENV, settings, families=["howto", "creative"],
                        progress=False)
        out = tmp_path / "expanded.jsonl"
        assert main(["--base-url", base_url, "--model", "fake-model", "--api-key-env", KEY_ENV, "--families",
                     "creative", "--per-family", "1", "--prompts", str(write_prompts(SEEDS, tmp_path / "seeds.jsonl")), "--out", str(out)]) == 0
    # every answer is accounted for (the fake's word salad mostly fails the opener filter), and the 429 was retried
    assert len(result.accepted) + sum(result.rejected.values()) == sum(result.requests.values())
    assert len(config.requests) > sum(result.requests.values())
    novelty = NoveltyFilter([p.text for p in SEEDS], cutoff=0.7)
    openers = {"explain", "describe", "tell", "write"}  # the seeds' first words
    for p in result.accepted:  # each one passes the filters and is novel against seeds and earlier ones
        assert rejection_reason(p.text, settings, openers) is None and novelty.admit(p.text)
    written = load_prompts(out)
    assert [p.id for p in written[: len(SEEDS)]] == [p.id for p in SEEDS]
    assert len(written) <= len(SEEDS) + 1 and all(p.id.startswith("gen-creative-") for p in written[len(SEEDS):])
    assert all(r["body"]["messages"][0]["content"].count("\n") >= 2 for r in config.requests)

