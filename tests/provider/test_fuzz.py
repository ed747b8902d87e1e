"""Fuzz the API from its published OpenAPI schema (schemathesis): whatever comes in, no 5xx.

schemathesis generates both schema-valid and schema-violating requests for every
operation; arbitrary JSON and raw bytes are thrown at the chat endpoint too.
"""

from __future__ import annotations

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


def check(status: int, body: dict) -> None:
    assert status < 500, body
    if status >= 400:
        assert set(body["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schema_fuzz_never_5xx(operations, server, api_key, mode):
    assert {op.path for op in operations} >= {"/v1/chat/completions", "/v1/models"}
    statuses = []

    @FUZZ
    @given(case=st.one_of(*(op.as_strategy(generation_mode=mode) for op in operations)), served=st.booleans())
    def run(case, served):
        if served and isinstance(case.body, dict) and "model" in case.body:
            case.body["model"] = MODEL_NAME  # reach generation, not only the model check
        response = case.call(base_url=server.url, headers={"Authorization": f"Bearer {api_key}"})
        statuses.append((case.operation.path, response.status_code))
        check(response.status_code, response.json())

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
        check(reply.status_code, reply.json())

    run()
