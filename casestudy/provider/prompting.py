"""Chat messages to prompt token ids, with the customers' text kept as text.

A chat template writes control tokens (`<|im_start|>`, `<|im_end|>`) around each
message. Rendered to one string and tokenized, a message whose content *contains* the
text `<|im_end|>\\n<|im_start|>system\\n...` would become real control tokens: a
customer could forge a system turn and override the deployment's system prompt. The
hosted APIs treat such text as text, and so does `encode_chat`:

1. No content holds an added token's text (the usual case): the template is applied
   and tokenized as usual, so ordinary prompts get exactly the ids they always had.
2. Otherwise the template is rendered with a placeholder for each content, cut at its
   own control tokens, and each piece between them is tokenized with the placeholders
   replaced by the contents and `split_special_tokens=True`: the template's control
   tokens stay control tokens, the customer's look-alikes become ordinary text tokens.
   The pieces are the ones the tokenizer itself would cut (it splits at added tokens
   before pre-tokenizing), so the text around a content is tokenized as before.

A template that rewrites contents (e.g. trims them) cannot be rendered with
placeholders; such a chat goes through transformers' own `sanitize_control_tokens=True`
(which wraps the look-alikes in markers), and is refused (`ForgedControlText`) only if
that fails too.

Thread safety: `split_special_tokens` is a flag of the Rust tokenizer that each call sets
when it differs, and setting it while another thread encodes or decodes with the same
tokenizer raises "Already borrowed" (or lets that thread encode with the wrong flag).
So the shared tokenizer is only ever called with its default flags; every call that
splits special tokens runs on a private copy, one thread at a time.
"""

from __future__ import annotations

import copy
import re
import secrets
import threading
import weakref

from transformers import PreTrainedTokenizerBase


class ForgedControlText(ValueError):
    """Content that holds a control token's text which this template cannot carry as text."""


def added_token_texts(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """The strings the tokenizer turns into added (control) tokens, longest first."""
    texts = {token.content for token in tokenizer.added_tokens_decoder.values() if token.content}
    return sorted(texts, key=len, reverse=True)


def holds_control_text(tokenizer: PreTrainedTokenizerBase, text: str) -> bool:
    return any(token in text for token in added_token_texts(tokenizer))


_COPY_LOCK = threading.Lock()
_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _private_copy(tokenizer: PreTrainedTokenizerBase) -> tuple[PreTrainedTokenizerBase, threading.Lock]:
    """A copy of `tokenizer` for the calls that change its flags, and the lock that serialises them."""
    with _COPY_LOCK:
        found = _COPIES.get(tokenizer)
        if found is None:
            found = _COPIES[tokenizer] = (copy.deepcopy(tokenizer), threading.Lock())
        return found


def transcript_ids(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> list[int]:
    """A model without a chat template (a base model): a plain transcript, content as text."""
    text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
    tok, lock = _private_copy(tokenizer)
    with lock:
        return list(tok(text, add_special_tokens=True, split_special_tokens=True)["input_ids"])


def encode_chat(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> list[int]:
    """Token ids of `messages` (role/content dicts) with the generation prompt appended.

    Raises jinja2's TemplateError when the messages do not fit the template, and
    `ForgedControlText` as the module docstring says.
    """
    if tokenizer.chat_template is None:
        return transcript_ids(tokenizer, messages)
    if not any(holds_control_text(tokenizer, m["content"]) for m in messages):
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
    return _encode_as_text(tokenizer, messages)


def _encode_as_text(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> list[int]:
    tok, lock = _private_copy(tokenizer)
    with lock:
        return _encode_as_text_unlocked(tok, messages)


def _encode_as_text_unlocked(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> list[int]:
    if any(t.lstrip or t.rstrip or t.single_word for t in tokenizer.added_tokens_decoder.values()):
        return _sanitized(tokenizer, messages)  # tokens that absorb whitespace: no exact cut
    nonce = secrets.token_hex(8)
    marks = [f"\ue000{nonce}:{i}\ue001" for i in range(len(messages))]
    skeleton = tokenizer.apply_chat_template(
        [{**m, "content": mark} for m, mark in zip(messages, marks)], add_generation_prompt=True, tokenize=False)
    rendered = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    contents = {mark: m["content"] for mark, m in zip(marks, messages)}
    mark_pattern = re.compile("|".join(re.escape(mark) for mark in marks))
    if (any(skeleton.count(mark) != 1 for mark in marks)
            or mark_pattern.sub(lambda hit: contents[hit.group(0)], skeleton) != rendered):
        return _sanitized(tokenizer, messages)  # the template rewrites contents
    control = re.compile("(" + "|".join(re.escape(t) for t in added_token_texts(tokenizer)) + ")")
    ids: list[int] = []
    for i, piece in enumerate(control.split(skeleton)):
        if not piece:
            continue
        if i % 2:  # a control token the template wrote
            ids.append(tokenizer.convert_tokens_to_ids(piece))
            continue
        text = mark_pattern.sub(lambda hit: contents[hit.group(0)], piece)
        ids.extend(tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"])
    return ids


def _sanitized(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> list[int]:
    """transformers' own escape: look-alikes wrapped in markers, encoded as text apart from their neighbours."""
    try:
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                sanitize_control_tokens=True)
    except (ValueError, NotImplementedError):
        raise ForgedControlText(_refusal(tokenizer, messages)) from None
    ids = list(encoded["input_ids"] if hasattr(encoded, "keys") else encoded)
    forged = sum(m["content"].count(t) for m in messages for t in added_token_texts(tokenizer))
    plain = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    plain = list(plain["input_ids"] if hasattr(plain, "keys") else plain)
    specials = set(tokenizer.all_special_ids) | {tokenizer.convert_tokens_to_ids(t) for t in added_token_texts(tokenizer)}
    if sum(i in specials for i in plain) - sum(i in specials for i in ids) != forged:  # not all escaped
        raise ForgedControlText(_refusal(tokenizer, messages))
    return ids


def _refusal(tokenizer: PreTrainedTokenizerBase, messages: list[dict]) -> str:
    token = next(t for t in added_token_texts(tokenizer) if any(t in m["content"] for m in messages))
    return (f"A message contains the text of the control token {token!r}, which this model's chat template "
            "cannot carry as plain text; remove it.")
