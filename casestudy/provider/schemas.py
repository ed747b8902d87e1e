"""The chat-completions wire format: request validation and reply shapes (OpenAI's)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

MAX_STOP_SEQUENCES = 4  # as the hosted API
MAX_NAME_CHARS = 64     # a message's `name` (the hosted API's documented limit)
MAX_USER_CHARS = 256    # `user`, an end-user id: longer ones get a 400 (string_above_max_length)


class TextPart(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    type: Literal["text"]
    text: str


class FunctionCall(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    name: str
    arguments: str


class ToolCall(BaseModel):
    """A tool call an earlier assistant turn made (sent back by clients as history)."""
    model_config = ConfigDict(strict=True, extra="forbid")
    id: str
    type: Literal["function"]
    function: FunctionCall


class Message(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = Field(default=None, validate_default=True)
    name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    tool_call_id: str | None = None          # role "tool": the call it answers
    tool_calls: list[ToolCall] | None = None  # role "assistant": calls it made
    refusal: str | None = None               # as a reply's message carries it

    @field_validator("content")
    @classmethod
    def _content_present(cls, content, info: ValidationInfo):
        role = info.data.get("role")
        if content is None and role != "assistant":
            raise ValueError(f"content is required for role {role!r} (only an assistant turn may omit it)")
        return content

    def text(self) -> str:
        """The content as the model sees it; an assistant's tool calls are written out as text."""
        if self.content is None:
            text = ""
        elif isinstance(self.content, str):
            text = self.content
        else:
            text = "".join(part.text for part in self.content)
        calls = [f"{call.function.name}({call.function.arguments})" for call in self.tool_calls or ()]
        return "\n".join(([text] if text else []) + calls)


class ResponseFormat(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    include_usage: bool | None = None


class ChatCompletionRequest(BaseModel):
    """The accepted fields; anything else is refused by name (strict types, no coercion).

    Every optional field also takes `null` (its default), as the hosted API does.
    """

    model_config = ConfigDict(strict=True, extra="forbid")
    model: str
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    n: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    stop: str | list[str] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = Field(default=None, max_length=MAX_USER_CHARS)
    # Accepted at their no-op values only (see `Provider.plan`): 0, {} and {"type": "text"}.
    frequency_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    presence_penalty: float | None = Field(default=None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    response_format: ResponseFormat | None = None

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int]


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChoiceLogprobs(BaseModel):
    content: list[TokenLogprob]
    refusal: None = None


class ChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int
    message: ChoiceMessage
    finish_reason: Literal["stop", "length"]
    logprobs: ChoiceLogprobs | None = None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def inline_schema(model: type[BaseModel]) -> dict:
    """The model's JSON schema with `$defs` inlined, to embed in an OpenAPI operation."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def request_schema(model_name: str, max_tokens_cap: int, n_cap: int) -> dict:
    """The request schema this deployment publishes: the served model and its caps included."""
    schema = inline_schema(ChatCompletionRequest)
    props = schema["properties"]
    props["model"]["enum"] = [model_name]

    def branches(prop: dict) -> list[dict]:
        return prop.get("anyOf", [prop])

    for name, cap in (("max_tokens", max_tokens_cap), ("max_completion_tokens", max_tokens_cap), ("n", n_cap)):
        for branch in branches(props[name]):
            if branch.get("type") == "integer":
                branch["maximum"] = cap
    for branch in branches(props["stop"]):
        if branch.get("type") == "string":
            branch["minLength"] = 1
        if branch.get("type") == "array":
            branch.update(maxItems=MAX_STOP_SEQUENCES, items={"type": "string", "minLength": 1})
    return schema
