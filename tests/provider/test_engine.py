"""The continuous-batching engine, in process on the tiny model: exactness against plain
`generate` and the watermarked distribution, seeds, stop strings, the memory budget."""

from __future__ import annotations

import random

import pytest
import torch

from casestudy.provider.app import Provider
from casestudy.provider.errors import APIError
from casestudy.provider.schemas import ChatCompletionRequest
from casestudy.provider.serving.engine import Engine
from casestudy.provider.serving.rows import Row
from casestudy.provider.serving.sampling import counter_gumbel, gumbel_draw, row_keys
from casestudy.provider.settings import WatermarkSettings
from casestudy.models import load_model
from casestudy.provider.watermark import watermarking_config
from tests.provider.conftest import tiny_settings

KEY = WatermarkSettings(key=3, bias=4.0)
MARK_ALL = WatermarkSettings(key=3, bias=4.0, mark_greedy=True)   # greedy rows too (the default)
SAMPLED_ONLY = WatermarkSettings(key=3, bias=4.0, mark_greedy=False)


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model(str(tiny_model_dir), device="cpu")


@pytest.fixture(scope="module")
def prompts(tokenizer):
    texts = ["Once upon a time", "Hi", "A much longer prompt that forces left padding on the other rows, twice over",
             "Tell me a story about a dragon.", "2 + 2 ="]
    return [tokenizer.encode(t) for t in texts]


def test_greedy_rows_equal_plain_generate(loaded, prompts):
    engine = Engine(loaded, None)
    lengths = [9, 3, 12, 6, 1]
    completions = engine.generate([Row(p, n, temperature=0) for p, n in zip(prompts, lengths)])
    tok = loaded.tokenizer
    for prompt, n, completion in zip(prompts, lengths, completions):
        with torch.inference_mode():
            out = loaded.model.generate(torch.tensor([prompt]), do_sample=False, max_new_tokens=n,
                                        pad_token_id=tok.pad_token_id)
        assert completion.token_ids == out[0, len(prompt):].tolist()
        assert completion.finish_reason == "length"


def test_without_mark_greedy_greedy_rows_answer_unmarked_beside_marked_samples(loaded, prompts):
    assert KEY.mark_greedy
    plain = Engine(loaded, None).generate([Row(p, 8, temperature=0, top_logprobs=5) for p in prompts])
    engine = Engine(loaded, SAMPLED_ONLY)
    mixed = engine.generate([Row(p, 8, temperature=0, top_logprobs=5) for p in prompts]
                            + [Row(prompts[0], 8, seed=4, top_logprobs=5)])
    for alone, beside in zip(plain, mixed):
        assert beside.token_ids == alone.token_ids
        assert beside.top_ids == alone.top_ids
        assert torch.allclose(torch.tensor(beside.top_logprobs), torch.tensor(alone.top_logprobs), atol=1e-5)
    sampled = Engine(loaded, KEY).generate([Row(prompts[0], 8, seed=4, top_logprobs=5)])[0]
    assert mixed[-1].token_ids == sampled.token_ids   # the sampled row is still marked, as alone
    marked = Engine(loaded, MARK_ALL).generate(
        [Row(p, 8, temperature=0) for p in prompts])
    assert [c.token_ids for c in marked] != [c.token_ids for c in plain]   # a bias of 4 flips some argmax


def test_logprobs_are_those_of_the_watermarked_distribution(loaded, prompts):
    engine = Engine(loaded, KEY)
    completion = engine.generate([Row(prompts[0], 6, seed=4, top_logprobs=20), Row(prompts[2], 3, seed=1)])[0]
    reference = watermarking_config(KEY).construct_processor(engine.vocab_size, torch.device("cpu"))
    ids = torch.tensor([prompts[0] + completion.token_ids])
    with torch.inference_mode():
        logits = loaded.model(ids).logits[0].float()
    start = len(prompts[0]) - 1
    for j, token in enumerate(completion.token_ids):
        scores = reference(ids[:, : start + j + 1], logits[start + j][None].clone())
        logprobs = torch.log_softmax(scores, -1)[0]
        values, indices = logprobs.topk(20)
        assert completion.top_ids[j] == indices.tolist()
        assert completion.top_logprobs[j] == pytest.approx(values.tolist(), abs=1e-4)
        assert completion.logprobs[j] == pytest.approx(float(logprobs[token]), abs=1e-4)


def run_joining_late(engine: Engine, target: Row, companions: list[Row], join_at: int):
    """Step `companions` `join_at` times, then add `target`; return its completion."""
    for row in companions:
        engine.add(row)
    done = {}
    for _ in range(join_at):
        done.update(engine.step())
    key = engine.add(target)
    while key not in done:
        done.update(engine.step())
    while engine.in_flight:
        engine.step()
    return done[key]


def test_a_seeded_row_gives_the_same_completion_whatever_shares_its_batch(loaded, prompts):
    engine = Engine(loaded, KEY)
    target = Row(prompts[3], 10, temperature=0.9, top_p=0.95, seed=77, top_logprobs=3)
    alone = engine.generate([target])[0]
    others = [Row(prompts[2], 14, seed=5), Row(prompts[1], 2, seed=6), Row(prompts[4], 8, temperature=0),
              Row(prompts[0], 5, temperature=1.5, seed=8)]
    for join_at in (0, 1, 3):
        late = run_joining_late(engine, target, others, join_at)
        assert late.token_ids == alone.token_ids
        assert late.logprobs == pytest.approx(alone.logprobs, abs=1e-5)
    other_seed = engine.generate([Row(prompts[3], 10, temperature=0.9, top_p=0.95, seed=78)])[0]
    assert other_seed.token_ids != alone.token_ids


def test_counter_noise_is_gumbel_and_depends_on_seed_counter_and_index():
    seeds = torch.arange(400, dtype=torch.long) * 7919 + (1 << 40)
    keys = row_keys(seeds, torch.zeros_like(seeds))
    noise = counter_gumbel(keys, torch.arange(500).expand(400, -1))
    assert torch.isfinite(noise).all()
    assert float(noise.mean()) == pytest.approx(0.5772, abs=0.01) and float(noise.var()) == pytest.approx(1.645, abs=0.03)
    assert torch.equal(keys, row_keys(seeds, torch.zeros_like(seeds)))
    assert not torch.equal(keys, row_keys(seeds, torch.ones_like(seeds)))
    assert not torch.equal(keys, row_keys(seeds + 1, torch.zeros_like(seeds)))
    assert bool((row_keys(torch.tensor([(1 << 63) - 1]), torch.tensor([5])) >= 0).all())


def test_gumbel_draw_samples_the_softmax():
    z = torch.log(torch.tensor([0.5, 0.25, 0.125, 0.125] + [0.0] * 508)).expand(20_000, -1)
    keys = row_keys(torch.arange(20_000), torch.zeros(20_000, dtype=torch.long))
    counts = torch.bincount(gumbel_draw(z, keys), minlength=4)[:4].float() / 20_000
    assert counts.tolist() == pytest.approx([0.5, 0.25, 0.125, 0.125], abs=0.015)
    wide = torch.randn(3000, 1000) * 3   # several buckets, not a multiple of BUCKET wide
    draws = gumbel_draw(wide, row_keys(torch.arange(3000), torch.full((3000,), 7)))
    probs = torch.softmax(wide, -1)
    assert float(probs[torch.arange(3000), draws].log().mean()) == pytest.approx(
        float((probs * probs.log()).sum(-1).mean()), abs=0.15)   # mean log-prob of a draw = -entropy


def test_stop_strings_end_rows_early_and_are_cut(loaded, prompts):
    engine = Engine(loaded, None)
    free = engine.generate([Row(prompts[0], 12, temperature=0)])[0]
    text = free.text
    stop = text[len(text) // 2:][:3]
    cut, plain = engine.generate([Row(prompts[0], 12, temperature=0, stop=["never-there", stop]),
                                  Row(prompts[0], 12, temperature=0, stop=["never-there"])])
    assert cut.finish_reason == "stop" and cut.text == text[: text.find(stop)]
    assert len(cut.token_ids) < len(free.token_ids)
    assert engine.tokenizer.decode(cut.token_ids).startswith(cut.text)
    assert plain.token_ids == free.token_ids and plain.finish_reason == "length"
    # The row left the batch at the step whose token completed the stop string.
    alone = Engine(loaded, None)
    alone.generate([Row(prompts[0], 12, temperature=0, stop=[stop])])
    assert alone.steps == len(cut.token_ids)


def test_rows_without_logprobs_return_none_and_eos_is_a_stop(loaded, prompts, tokenizer):
    engine = Engine(loaded, None)
    quiet = engine.generate([Row(prompts[1], 4, temperature=0, logprobs=False)])[0]
    assert quiet.logprobs == [] and len(quiet.token_ids) == 4
    engine.eos_ids.add(quiet.token_ids[1])
    engine._eos = torch.tensor(sorted(engine.eos_ids))
    ended = engine.generate([Row(prompts[1], 4, temperature=0)])[0]
    assert ended.token_ids == quiet.token_ids[:1] and ended.finish_reason == "stop"
    assert len(ended.logprobs) == 1


def test_cancelled_rows_leave_and_the_others_go_on_unchanged(loaded, prompts):
    engine = Engine(loaded, KEY)
    rows = [Row(prompts[i], 12, seed=i, top_logprobs=2) for i in range(4)]
    expected = engine.generate(rows)
    keys = [engine.add(row) for row in rows]
    done = {}
    for _ in range(3):
        done.update(engine.step())
    assert engine.cancel([keys[0], keys[2]]) == 2 and engine.decoding == 2
    while engine.in_flight:
        done.update(engine.step())
    assert set(done) == {keys[1], keys[3]}
    assert done[keys[1]].token_ids == expected[1].token_ids and done[keys[3]].token_ids == expected[3].token_ids
    assert done[keys[3]].top_ids == expected[3].top_ids


@pytest.mark.parametrize("trial", range(2))
def test_rows_arriving_and_leaving_at_random_equal_their_run_alone(loaded, trial):
    """Random arrivals, cancellations, chunked prompts, buffer growth and compaction under a
    small budget: every row that ends gives what it gives alone (and no NaN from masked
    columns of a fresh buffer)."""
    rng = random.Random(trial)
    rows = [Row([rng.randrange(100, 40000) for _ in range(rng.randint(1, 120))], rng.randint(1, 16),
                temperature=rng.choice([0, 0.8, 1.0]), top_p=rng.choice([1.0, 0.9]), seed=i,
                top_logprobs=rng.choice([0, 3]), logprobs=rng.random() < 0.7) for i in range(20)]
    alone = Engine(loaded, KEY)
    expected = [alone.generate([row])[0] for row in rows]
    engine = Engine(loaded, KEY, prefill_tokens=rng.choice([16, 48]), max_batch_tokens=rng.choice([300, 2000]))
    pending, keys, done, cancelled = list(range(len(rows))), {}, {}, set()
    while pending or engine.in_flight:
        for _ in range(rng.randint(0, 3)):
            if pending:
                i = pending.pop(0)
                keys[engine.add(rows[i])] = i
        if rng.random() < 0.05:
            key = rng.choice(list(keys))
            if key not in done and engine.cancel([key]):
                cancelled.add(key)
        done.update(engine.step())
    assert set(done) | cancelled == set(keys)
    for key, completion in done.items():
        want = expected[keys[key]]
        assert completion.token_ids == want.token_ids and completion.finish_reason == want.finish_reason
        assert completion.logprobs == pytest.approx(want.logprobs, abs=1e-4)


def test_memory_budget_refuses_a_request_that_can_never_fit(tiny_model_dir, tmp_path):
    loaded = load_model(str(tiny_model_dir), device="cpu")
    provider = Provider(tiny_settings(tiny_model_dir, tmp_path, max_batch_tokens=100, n_cap=4), loaded)
    try:
        def plan(n, max_tokens):
            request = ChatCompletionRequest.model_validate(
                {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "n": n, "max_tokens": max_tokens})
            return provider.planner.plan(request)

        prompt = plan(1, 16).prompt
        assert len(prompt) + 16 <= 100
        provider.check_capacity(plan(1, 16))
        with pytest.raises(APIError) as caught:
            provider.check_capacity(plan(4, 16))
        assert caught.value.status == 400 and caught.value.code == "batch_budget_exceeded"
        assert "n x (prompt + max_tokens)" in caught.value.message
    finally:
        provider.close()


def test_fits_counts_rows_times_the_widest_row(loaded, prompts):
    engine = Engine(loaded, None, max_batch_tokens=3 * 40)
    row = Row(prompts[0], 40 - len(prompts[0]))
    assert engine.fits([row, row, row])
    engine.add(row)
    engine.add(row)
    assert engine.fits([row]) and not engine.fits([row, row])
    assert not engine.fits([Row(prompts[0], 60)])  # a wider row widens all three
    engine.cancel(list(range(100)))
    assert engine.in_flight == 0


def test_penalties_follow_openais_formula_before_the_watermark(loaded, prompts):
    """frequency/presence penalties: logits - count x f - (count > 0) x p over the row's
    generated tokens, then the watermark; logprobs of that distribution; the same
    tokens beside unpenalized rows as alone."""
    f, p = -1.5, -0.5   # negative: a random model's flat distribution then repeats tokens
    engine = Engine(loaded, MARK_ALL)
    target = Row(prompts[0], 12, temperature=0, top_logprobs=3, frequency_penalty=f, presence_penalty=p)
    alone = engine.generate([target])[0]
    together = engine.generate([Row(prompts[2], 20, seed=1), target, Row(prompts[1], 5, temperature=0)])[1]
    plain = engine.generate([Row(prompts[0], 12, temperature=0)])[0]
    reference = watermarking_config(KEY).construct_processor(engine.vocab_size, torch.device("cpu"))
    ids = list(prompts[0])
    counts = torch.zeros(engine.vocab_size)
    for j in range(12):
        with torch.inference_mode():
            logits = loaded.model(torch.tensor([ids])).logits[0, -1].float()
        scores = reference(torch.tensor([ids]), (logits - counts * f - (counts > 0) * p)[None])[0]
        token = int(scores.argmax())
        assert alone.token_ids[j] == token
        assert alone.logprobs[j] == pytest.approx(float(torch.log_softmax(scores, -1)[token]), abs=1e-4)
        counts[token] += 1
        ids.append(token)
    assert together.token_ids == alone.token_ids
    assert len(set(alone.token_ids)) < len(set(plain.token_ids))  # the penalties made it repeat itself
