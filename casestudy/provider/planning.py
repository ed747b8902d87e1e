"""What a chat request asks the engine for (`GenerationPlan`), checked against the
deployment: its model, caps and unsupported values, its prompt (the deployment's system
prompt first, tokenized with customers' text kept as text) within the context window."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import TemplateError

from casestudy.provider.errors import APIError, bad_request, model_not_found
from casestudy.provider.prompting import ForgedControlText, encode_chat
from casestudy.provider.schemas import MAX_STOP_SEQUENCES, ChatCompletionRequest
from casestudy.provider.serving.rows import GREEDY_BELOW, Row
from casestudy.provider.settings import ProviderSettings
from casestudy.token_bytes import is_byte_level, token_bytes


def row_seed(seed: int | None, choice: int) -> int | None:
    """The seed of choice `choice` of a request: its own stream, fixed by the request's seed."""
    if seed is None:
        return None
    return (seed * 1_000_003 + choice) % (2**63)


@dataclass(frozen=True)
class GenerationPlan:
    """What a checked chat request asks the engine for."""
    prompt: list[int]
    max_tokens: int
    n: int
    temperature: float         # 0 below GREEDY_BELOW
    top_p: float
    top_logprobs: int          # alternatives per token (0 without logprobs)
    logprobs: bool
    stream: bool
    include_usage: bool
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def rows(self) -> list[Row]:
        """The engine's rows: one per choice, each with its own seed."""
        return [Row(self.prompt, self.max_tokens, self.temperature, self.top_p, row_seed(self.seed, i),
                    list(self.stop), self.top_logprobs, logprobs=self.logprobs, stream=self.stream,
                    frequency_penalty=self.frequency_penalty, presence_penalty=self.presence_penalty)
                for i in range(self.n)]


def context_exceeded(message: str) -> APIError:
    return bad_request(message, "messages", code="context_length_exceeded")


class Planner:
    """Checks a deployment's requests: `plan(req)` (tokenizing: run it off the event loop)."""

    def __init__(self, settings: ProviderSettings, tokenizer, context_window: int | None):
        self.settings, self.tokenizer, self.context_window = settings, tokenizer, context_window
        # The most bytes any token covers: with a byte-level BPE (each token is a run of the
        # text's bytes) a prompt of B bytes has at least B / this many tokens.
        self.max_token_bytes = (max(len(token_bytes(tokenizer, i)) for i in tokenizer.get_vocab().values())
                                if is_byte_level(tokenizer) else None)

    def prompt_ids(self, req: ChatCompletionRequest) -> list[int]:
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()}
                    for m in req.messages]
        if self.settings.system_prompt:
            messages.insert(0, {"role": "system", "content": self.settings.system_prompt})
        window = self.context_window
        if window is not None and self.max_token_bytes:  # surely too long: refused without tokenizing
            least = sum(len(m["content"].strip().encode("utf-8")) for m in messages) // self.max_token_bytes
            if least > window:
                raise context_exceeded(
                    f"This model's maximum context length is {window} tokens. However, your messages "
                    f"have at least {least} tokens. Please reduce the length of the messages.")
        try:
            return encode_chat(self.tokenizer, messages)
        except TemplateError as error:  # e.g. a template that demands alternating roles
            raise bad_request(f"The messages do not fit this model's chat template: {error}", "messages") from None
        except ForgedControlText as error:
            raise bad_request(str(error), "messages") from None

    def plan(self, req: ChatCompletionRequest) -> GenerationPlan:
        """Check values against the deployment, then tokenize the prompt."""
        s = self.settings
        if req.model != s.model_name:
            raise model_not_found(req.model, s.model_name)
        if req.stream_options is not None and not req.stream:
            raise bad_request("stream_options is only allowed when stream is true.", "stream_options")
        if req.logit_bias:
            raise bad_request("'logit_bias' other than {} is not supported by this server.", "logit_bias",
                              code="unsupported_value")
        if req.response_format is not None and req.response_format.type != "text":
            raise bad_request(f"response_format type '{req.response_format.type}' is not supported by this "
                              "server; only 'text'.", "response_format", code="unsupported_value")
        if req.top_logprobs is not None and not req.logprobs:
            raise bad_request("top_logprobs requires logprobs=true.", "top_logprobs")
        n = req.n if req.n is not None else 1
        n_cap = min(s.n_cap, s.max_batch_size)
        if n > n_cap:
            raise bad_request(f"Invalid value for 'n': {n} is above the maximum of {n_cap}.", "n")
        stops = req.stop_list()
        if len(stops) > MAX_STOP_SEQUENCES or any(not stop for stop in stops):
            raise bad_request(f"'stop' takes at most {MAX_STOP_SEQUENCES} non-empty strings.", "stop")
        asked = req.max_completion_tokens if req.max_completion_tokens is not None else req.max_tokens
        param = "max_completion_tokens" if req.max_completion_tokens is not None else "max_tokens"
        if asked is not None and asked > s.max_tokens_cap:
            raise bad_request(f"Invalid value for '{param}': {asked} is above the maximum of {s.max_tokens_cap}.",
                              param)
        prompt = self.prompt_ids(req)
        window = self.context_window
        if window is not None:
            room = window - len(prompt)
            wanted = asked if asked is not None else 1
            if wanted > room:
                raise context_exceeded(
                    f"This model's maximum context length is {window} tokens. However, you requested "
                    f"{len(prompt) + wanted} tokens ({len(prompt)} in the messages, {wanted} in the completion). "
                    "Please reduce the length of the messages or completion.")
            if asked is None:
                asked = min(s.default_max_tokens, room)
        asked = asked if asked is not None else s.default_max_tokens
        temperature = req.temperature if req.temperature is not None else 1.0
        return GenerationPlan(
            prompt=prompt, max_tokens=asked, n=n,
            temperature=0.0 if temperature < GREEDY_BELOW else temperature,
            top_p=req.top_p if req.top_p is not None else 1.0,
            top_logprobs=(req.top_logprobs or 0) if req.logprobs else 0, logprobs=bool(req.logprobs),
            stream=bool(req.stream), include_usage=bool(req.stream_options and req.stream_options.include_usage),
            frequency_penalty=req.frequency_penalty or 0.0, presence_penalty=req.presence_penalty or 0.0,
            seed=req.seed, stop=tuple(stops),
        )
