"""The watermark: scoring agrees with generation, and a detector finds it only where it is."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import binomtest
from transformers import LlamaConfig, WatermarkDetector

from casestudy.provider.settings import WatermarkSettings
from casestudy.token_bytes import token_id_from_bytes
from casestudy.provider.watermark import (
    DeviceGreenLists, green_mask, sequence_green_mask, watermark_processor, watermarking_config,
)
from tests.provider.conftest import MODEL_NAME, WATERMARK

VOCAB = 1000
SCHEMES = [WatermarkSettings(key=7), WatermarkSettings(key=7, context_width=3),
           WatermarkSettings(key=9, seeding_scheme="selfhash", context_width=2)]


@pytest.mark.parametrize("settings", SCHEMES[:2])
def test_cached_processor_equals_transformers_processor(settings):
    reference = watermarking_config(settings).construct_processor(VOCAB, torch.device("cpu"))
    ours = watermark_processor(settings, VOCAB)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):  # the second and third rounds hit the cache
        ids = torch.randint(0, 5, (6, 4), generator=generator)
        scores = torch.randn(6, VOCAB, generator=generator)
        assert torch.equal(ours(ids, scores), reference(ids, scores))


@pytest.mark.parametrize("settings", SCHEMES[:2])
def test_device_green_lists_equal_transformers_processor(settings):
    """The engine's table of green lists (LRU, here small enough to evict) adds the bias bit for bit."""
    reference = watermarking_config(settings).construct_processor(VOCAB, torch.device("cpu"))
    table = DeviceGreenLists(watermark_processor(settings, VOCAB), torch.device("cpu"), capacity=8)
    generator = torch.Generator().manual_seed(3)
    for _ in range(6):
        ids = torch.randint(0, 12, (6, 4), generator=generator)
        scores = torch.randn(6, VOCAB, generator=generator)
        rows = table.rows(ids[:, -1].tolist(), [4] * 6)
        assert torch.equal(table.add(scores, rows), reference(ids, scores))
    short = table.rows([5], [settings.context_width - 1])   # shorter than the context: no bias
    scores = torch.randn(1, VOCAB)
    assert torch.equal(table.add(scores, short), scores)


@pytest.mark.parametrize("settings", SCHEMES[:2])
def test_green_mask_matches_the_tokens_boosted_in_generation(settings):
    processor = watermarking_config(settings).construct_processor(VOCAB, torch.device("cpu"))
    contexts = torch.randint(0, VOCAB, (5, settings.context_width), generator=torch.Generator().manual_seed(1))
    boosted = processor(contexts, torch.zeros(5, VOCAB)) > 0
    for row, context in enumerate(contexts):
        mask = green_mask(np.repeat(context[None].numpy(), VOCAB, axis=0), np.arange(VOCAB), settings, VOCAB)
        assert np.array_equal(mask, boosted[row].numpy())
        assert mask.mean() == pytest.approx(settings.greenlist_ratio, abs=1 / VOCAB)


@pytest.mark.parametrize("settings", SCHEMES)
def test_sequence_scoring_agrees_with_transformers_detector(settings):
    ids = torch.randint(0, VOCAB, (1, 60), generator=torch.Generator().manual_seed(2))
    detector = WatermarkDetector(LlamaConfig(vocab_size=VOCAB), "cpu", watermarking_config(settings), ignore_repeated_ngrams=False)
    scored, green = detector._score_ngrams_in_passage(ids)
    ours = sequence_green_mask(ids[0].tolist(), settings, VOCAB)
    assert len(ours) == scored[0] and ours.sum() == green[0]


def served_token_ids(handle, api_key, tokenizer, n_requests=2):
    client = handle.client(api_key)
    sequences = []
    for i in range(n_requests):
        reply = client.chat.completions.create(
            model=MODEL_NAME, messages=[{"role": "user", "content": f"Tell me story {i}."}],
            max_tokens=16, n=4, seed=i, logprobs=True)
        for choice in reply.choices:
            sequences.append([token_id_from_bytes(tokenizer, entry.bytes) for entry in choice.logprobs.content])
    return sequences


def green_share(sequences, settings, vocab_size):
    """Green count and total over unique (previous token, token) pairs."""
    pairs = {(seq[i - 1], seq[i]) for seq in sequences for i in range(1, len(seq))}
    prev, tokens = zip(*pairs)
    mask = green_mask(np.array(prev), np.array(tokens), settings, vocab_size)
    return int(mask.sum()), len(mask)


def test_detector_finds_watermark_in_provider_output_only(server, control_server, tokenizer):
    vocab = len(tokenizer)
    marked = served_token_ids(server, server.create_account("wm-probe"), tokenizer)
    green, total = green_share(marked, WATERMARK, vocab)
    control_green, control_total = green_share(
        served_token_ids(control_server, control_server.create_account("wm-probe"), tokenizer), WATERMARK, vocab)
    p_marked = binomtest(green, total, WATERMARK.greenlist_ratio, alternative="greater").pvalue
    p_control = binomtest(control_green, control_total, WATERMARK.greenlist_ratio, alternative="greater").pvalue
    assert green / total > 0.8 and p_marked < 1e-20
    assert control_green / control_total < 0.45 and p_control > 1e-3
    # A wrong key sees no watermark either.
    wrong_key = WatermarkSettings(key=WATERMARK.key + 1, greenlist_ratio=WATERMARK.greenlist_ratio)
    wrong_green, wrong_total = green_share(marked, wrong_key, vocab)
    assert wrong_green / wrong_total < 0.45
