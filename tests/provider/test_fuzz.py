"""Fuzz the API from its published OpenAPI schema (schemathesis): whatever comes in, no 5xx.

schemathesis generates both schema-valid and schema-violating requests for every
operation (chat completions with every field, streaming included; the model list and
`/v1/models/{id}`); arbitrary JSON and raw bytes are thrown at the chat endpoint too,
with the fields issue 15 added (nulls, penalties, logit_bias, response_format, stream,
stream_options, tool turns, control-token text).
"""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.provider.conftest import MODEL_NAME

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def operations(server):
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


CONTROL_TEXT = st.sampled_from(["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|im_end|>\n<|im_start|>system\n"])
TEXT = st.text(max_size=20) | st.lists(CONTROL_TEXT | st.text(max_size=8), max_size=3).map("".join)
TOOL_CALLS = st.just([{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
VALID_MESSAGE = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["system", "developer", "user"]), "content": TEXT},
                          optional={"name": st.none() | st.text(max_size=5)}),
    st.fixed_dictionaries({"role": st.just("assistant"), "content": st.none() | TEXT},
                          optional={"tool_calls": st.none() | TOOL_CALLS, "refusal": st.none()}),
    st.fixed_dictionaries({"role": st.just("tool"), "content": TEXT}, optional={"tool_call_id": st.text(max_size=5)}),
)
ANY_MESSAGE = VALID_MESSAGE | st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "tool", "robot"]), "content": st.none() | JSON},
    optional={"tool_calls": JSON, "tool_call_id": JSON})
VALID_FIELDS = {
    "temperature": st.none() | st.sampled_from([0, 1e-300, 5e-324, 1e-6, 0.7, 2]),
    "top_p": st.none() | st.floats(0, 1),
    "frequency_penalty": st.none() | st.just(0),
    "presence_penalty": st.none() | st.just(0.0),
    "logit_bias": st.none() | st.just({}),
    "response_format": st.none() | st.just({"type": "text"}),
    "stream": st.none() | st.booleans(),
    "logprobs": st.none() | st.booleans(),
    "n": st.none() | st.integers(1, 2),
    "seed": st.none() | st.integers(0, 9),
}
ANY_FIELDS = {
    **{name: strategy | JSON for name, strategy in VALID_FIELDS.items()},
    "frequency_penalty": st.none() | st.sampled_from([0, 1.5, -2.5]) | JSON,
    "logit_bias": st.none() | st.dictionaries(st.text(max_size=5), st.floats(-100, 100), max_size=2) | JSON,
    "response_format": st.none() | st.sampled_from([{"type": "json_object"}, {"type": "xml"}]) | JSON,
    "stream_options": st.none() | st.fixed_dictionaries({}, optional={"include_usage": st.none() | st.booleans()}),
    "top_logprobs": st.none() | st.integers(-1, 21),
}


def payload(response) -> dict:
    """The JSON body, or for a stream the events, each checked to be a well-formed chunk."""
    kind = response.headers.get("content-type", "")
    kind = kind[0] if isinstance(kind, list) else kind  # schemathesis keeps a list per header
    if kind.startswith("text/event-stream"):
        events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
        assert events[-1] == "[DONE]"
        chunks = [json.loads(event) for event in events[:-1]]
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
        return {"chunks": chunks}
    return response.json()


def check(response) -> dict:
    body = payload(response)
    assert response.status_code < 500, body
    if response.status_code >= 400:
        assert set(body["error"]) == {"message", "type", "param", "code"}
    return body


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schema_fuzz_never_5xx(operations, server, api_key, mode):
    assert {op.path for op in operations} >= {"/v1/chat/completions", "/v1/models", "/v1/models/{model_id}"}
    statuses = []

    @FUZZ
    @given(case=st.one_of(*(op.as_strategy(generation_mode=mode) for op in operations)), served=st.booleans())
    def run(case, served):
        if served and isinstance(case.body, dict) and "model" in case.body:
            case.body["model"] = MODEL_NAME  # reach generation, not only the model check
            for message in case.body.get("messages") or []:  # ... nor only the content check
                if isinstance(message, dict) and message.get("role") != "assistant" and message.get("content") is None:
                    message["content"] = "hi"
        response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {api_key}"})
        statuses.append((case.operation.path, response.status_code))
        check(response)

    run()
    assert any(status >= 400 for _, status in statuses)
    if mode == GenerationMode.POSITIVE:
        assert ("/v1/chat/completions", 200) in statuses  # some went all the way through generation


@pytest.fixture(scope="module")
def http(server, api_key):
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as c:
        yield c


def test_arbitrary_bodies_never_5xx(http):
    fields = {name: JSON for name in ("messages", "max_tokens", "n", "logprobs", "top_logprobs", "stop", "seed")}
    body = JSON | st.fixed_dictionaries({"model": st.just(MODEL_NAME)}, optional=fields)

    @FUZZ
    @given(body=body, raw=st.binary(max_size=50), use_raw=st.booleans())
    def run(body, raw, use_raw):
        reply = http.post("/v1/chat/completions", content=raw) if use_raw else http.post("/v1/chat/completions", json=body)
        check(reply)

    run()


def test_new_fields_never_5xx(http):
    """The fields and values issue 15 added, alone and mixed, most of them schema-valid."""
    valid = st.fixed_dictionaries(
        {"model": st.just(MODEL_NAME), "messages": st.lists(VALID_MESSAGE, min_size=1, max_size=3),
         "max_tokens": st.just(3), "stream": st.booleans()},
        optional={k: v for k, v in VALID_FIELDS.items() if k != "stream"})
    anything = st.fixed_dictionaries(
        {"model": st.just(MODEL_NAME), "messages": st.lists(ANY_MESSAGE, min_size=1, max_size=3)}, optional=ANY_FIELDS)
    body = valid.map(lambda b: {**b, "stream_options": {"include_usage": True}} if b.get("stream") else b) | anything
    statuses = []

    @settings(FUZZ, max_examples=60)
    @given(body=body)
    def run(body):
        reply = http.post("/v1/chat/completions", json=body)
        statuses.append("stream" if "chunks" in check(reply) else reply.status_code)

    run()
    assert {200, "stream"} <= set(statuses) and any(s not in (200, "stream") for s in statuses)
