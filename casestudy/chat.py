"""Conversations to tokens and back, one rule for both actors: the chat encoder and batched greedy answers.

`chat_text` is the one place outside the provider's serving path (provider/prompting.py)
that renders a conversation with the tokenizer's chat template; `encode_chat` turns it
into prompt ids and, for training, answer ids with the end-of-turn token. `greedy_answers`
is the one batched greedy generator: the provider's checks on its post-trained teacher
and the distiller's grading of its students both call it, so both are graded alike. It
stops at any end token (`stop_ids`), skips special tokens and strips the answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from transformers import PreTrainedTokenizerBase


def chat_text(tokenizer: PreTrainedTokenizerBase, messages: Sequence[dict], answer: str | None = None) -> str:
    """A conversation in the tokenizer's chat template: ending with the assistant header, ready for
    generation, or, given `answer`, with the assistant's answer as the last (closed) turn."""
    if answer is None:
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    return tokenizer.apply_chat_template([*messages, {"role": "assistant", "content": answer}], tokenize=False)


@dataclass(frozen=True)
class ChatIds:
    prompt: list[int]   # the conversation up to and including the assistant header
    answer: list[int]   # the answer's tokens, then the end-of-turn token when finished ([] without one)

    @property
    def ids(self) -> list[int]:
        return self.prompt + self.answer


def encode_chat(tokenizer: PreTrainedTokenizerBase, messages: Sequence[dict],
                answer: str | Sequence[int] | None = None, finished: bool = True) -> ChatIds:
    """Token ids of a chat prompt (the template adds its own special tokens) and of an answer:
    its text re-tokenized, or its ids as given, followed by the tokenizer's end-of-turn token
    when `finished` (an answer cut short must not learn to stop there)."""
    prompt = tokenizer(chat_text(tokenizer, messages), add_special_tokens=False)["input_ids"]
    if answer is None:
        return ChatIds(prompt, [])
    ids = tokenizer(answer, add_special_tokens=False)["input_ids"] if isinstance(answer, str) else [int(t) for t in answer]
    return ChatIds(prompt, ids + [tokenizer.eos_token_id] if finished else ids)


def stop_ids(model, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Every end token: those of the model's generation config and the tokenizer's."""
    ids = getattr(model.generation_config, "eos_token_id", None)
    found = set(ids if isinstance(ids, (list, tuple)) else [] if ids is None else [ids])
    if tokenizer.eos_token_id is not None:
        found.add(tokenizer.eos_token_id)
    return sorted(found)


def left_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows padded on the left to one width (decoder-only batched generation), and their attention mask."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, row in enumerate(rows):
        ids[b, width - len(row):] = torch.tensor(list(row), dtype=torch.long)
        mask[b, width - len(row):] = 1
    return ids, mask


def right_pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token rows padded on the right to one width (training: positions start at 0 in every row), and
    their attention mask."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for b, row in enumerate(rows):
        ids[b, :len(row)] = torch.tensor(list(row), dtype=torch.long)
        mask[b, :len(row)] = 1
    return ids, mask


@torch.inference_mode()
def greedy_answers(model, tokenizer: PreTrainedTokenizerBase, conversations: Sequence[Sequence[dict]],
                   max_new_tokens: int = 32, batch_size: int = 64) -> list[str]:
    """Greedy answers to chat conversations, in left-padded batches on the model's device and in its
    dtype; each stops at any end token (`stop_ids`), special tokens skipped, white space stripped."""
    device = next(model.parameters()).device
    stops = stop_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    prompts = [encode_chat(tokenizer, c).prompt for c in conversations]
    was_training = model.training
    model.eval()
    answers: list[str] = []
    try:
        for start in range(0, len(prompts), batch_size):
            ids, mask = left_pad(prompts[start:start + batch_size], pad)
            out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), do_sample=False,
                                 max_new_tokens=max_new_tokens, pad_token_id=pad, eos_token_id=stops,
                                 temperature=None, top_p=None, top_k=None)
            answers += [a.strip() for a in tokenizer.batch_decode(out[:, ids.shape[1]:], skip_special_tokens=True)]
    finally:
        model.train(was_training)
    return answers
