"""Every class of bad input gets a 4xx in OpenAI's error format naming the problem."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.provider.conftest import CONTEXT, MODEL_NAME

OK = {"model": MODEL_NAME, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
LONG = [{"role": "user", "content": "word " * (CONTEXT + 10)}]

CASES = {
    "malformed JSON": (b'{"model": "tiny", "messages": [', 400, None, "json_invalid"),
    "not an object": (b"[1, 2]", 400, None, "invalid_type"),
    "missing messages": ({"model": MODEL_NAME}, 400, "messages", "missing_required_parameter"),
    "missing model": ({"messages": OK["messages"]}, 400, "model", "missing_required_parameter"),
    "mistyped max_tokens": ({**OK, "max_tokens": "2"}, 400, "max_tokens", "invalid_type"),
    "mistyped content": ({**OK, "messages": [{"role": "user", "content": 7}]}, 400, "messages.[0].content", None),
    "bad role": ({**OK, "messages": [{"role": "robot", "content": "x"}]}, 400, "messages.[0].role", None),
    "empty messages": ({**OK, "messages": []}, 400, "messages", None),
    "unknown parameter": ({**OK, "frobnicate": 1}, 400, "frobnicate", "unknown_parameter"),
    "unknown model": ({**OK, "model": "gpt-9"}, 404, "model", "model_not_found"),
    "top_logprobs above 20": ({**OK, "logprobs": True, "top_logprobs": 21}, 400, "top_logprobs", None),
    "top_logprobs without logprobs": ({**OK, "top_logprobs": 5}, 400, "top_logprobs", None),
    "max_tokens zero": ({**OK, "max_tokens": 0}, 400, "max_tokens", None),
    "max_tokens above cap": ({**OK, "max_tokens": 17}, 400, "max_tokens", None),
    "max_completion_tokens above cap": ({**OK, "max_completion_tokens": 99}, 400, "max_completion_tokens", None),
    "n above cap": ({**OK, "n": 5}, 400, "n", None),
    "temperature out of range": ({**OK, "temperature": 3.5}, 400, "temperature", None),
    "too many stops": ({**OK, "stop": ["a", "b", "c", "d", "e"]}, 400, "stop", None),
    "stream_options without stream": ({**OK, "stream_options": {"include_usage": True}}, 400, "stream_options", None),
    "frequency_penalty above 2": ({**OK, "frequency_penalty": 2.5}, 400, "frequency_penalty", None),
    "presence_penalty below -2": ({**OK, "presence_penalty": -3}, 400, "presence_penalty", None),
    "logit_bias not empty": ({**OK, "logit_bias": {"42": 5}}, 400, "logit_bias", "unsupported_value"),
    "response_format json": ({**OK, "response_format": {"type": "json_object"}}, 400, "response_format",
                             "unsupported_value"),
    "user content null": ({**OK, "messages": [{"role": "user", "content": None}]}, 400, "messages.[0].content", None),
    "prompt longer than context": ({**OK, "messages": LONG}, 400, "messages", "context_length_exceeded"),
    "name too long": ({**OK, "messages": [{"role": "user", "content": "hi", "name": "n" * 65}]}, 400,
                      "messages.[0].name", "string_above_max_length"),
    "user too long": ({**OK, "user": "u" * 257}, 400, "user", "string_above_max_length"),
    "oversized body": ({**OK, "messages": [{"role": "user", "content": "x" * 30_000}]}, 413, None, "request_too_large"),
}


@pytest.fixture(scope="module")
def http(server, api_key):
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60) as c:
        yield c


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_openai_error(http, case):
    body, status, param, code = CASES[case]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = http.post("/chat/completions", content=content, headers={"Content-Type": "application/json"})
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    assert error["param"] == param
    if code:
        assert error["code"] == code
    if param:
        assert param.split(".")[0] in error["message"] or case == "unknown model"


def test_too_long_strings_are_worded_as_openai_words_them(http):
    reply = http.post("/chat/completions", json={**OK, "user": "u" * 300})
    assert reply.json()["error"]["message"] == ("Invalid 'user': string too long. Expected a string with maximum "
                                                "length 256, but got a string with length 300 instead.")


def test_unknown_route_and_method_use_openai_errors(http):
    for reply in (http.get("/nothing-here"), http.get("/chat/completions")):
        assert reply.status_code in (404, 405)
        assert set(reply.json()["error"]) == {"message", "type", "param", "code"}


def test_server_keeps_serving_after_bad_input(http):
    reply = http.post("/chat/completions", json=OK)
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] is not None
