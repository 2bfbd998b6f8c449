"""Bad input says what is wrong, in the route family's shape, as OpenAI's API would: unknown
top-level fields are a 400 naming them, malformed JSON says where, a garbage bearer token is
called malformed, an image sent to a text-only model is refused in words, the 413 has the
family's shape, and the enriched error object carries OpenAI's `type` and `param` (read by the
real OpenAI SDK against the live server)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

URL = "/ai/v2/chat/completions"


def ask(content: Any = "Hello", **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], "model": "echo-openai", **fields}


@pytest.mark.parametrize("url", [URL, f"{URL}/grounded", "/ai/v2/route"])
def test_unknown_top_level_fields_are_a_400_naming_them(http: httpx.Client, url: str) -> None:
    refused = http.post(url, json=ask(max_token=5, temprature=0.2))
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["message"] == "Unrecognized request argument supplied: max_token, temprature"
    assert error["type"] == "invalid_request_error" and error["param"] == "max_token"
    assert error["name"] == "UNKNOWN_FIELDS"


def test_fields_the_openai_sdk_sends_and_gloo_fields_stay_accepted(http: httpx.Client) -> None:
    openai_fields = {
        "user": "u1",
        "metadata": {"k": "v"},
        "store": False,
        "logprobs": False,
        "frequency_penalty": 0,
        "presence_penalty": 0,
        "service_tier": "auto",
        "reasoning_effort": "low",
        "n": 1,
        "max_completion_tokens": 8,
    }
    assert http.post(URL, json=ask(**openai_fields)).status_code == 200
    gloo = {"messages": [{"role": "user", "content": "Hi"}], "auto_routing": True}
    gloo |= {"tradition": "catholic", "routing_preference": "cost", "model": "auto"}
    assert http.post(URL, json=gloo).status_code == 200
    grounded = ask(rag_publisher="Nobody", sources_limit=2, include_citations=True)
    assert http.post(f"{URL}/grounded", json=grounded).status_code == 200
    # Nested objects keep OpenAI's leniency: only the top level is checked.
    nested = ask([{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}])
    assert http.post(URL, json=nested).status_code == 200


def test_validation_errors_stay_422_with_type_and_param(http: httpx.Client) -> None:
    refused = http.post(URL, json=ask(temperature=7))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "temperature"
    assert isinstance(refused.json()["detail"], list)  # FastAPI's list, as Gloo documents
    bad_content = http.post(URL, json=ask(5))
    assert bad_content.json()["error"]["param"] == "messages[0].content"


def test_malformed_json_says_where_and_what(http: httpx.Client) -> None:
    body = '{"messages": [{"role": "user", "content": "Hi"}],\n  "model": "echo-openai",,}'
    refused = http.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400, refused.text
    message = refused.json()["error"]["message"]
    assert message.startswith("Malformed JSON at line 2, column 26 (character 75)")  # as json
    assert "Expecting property name" in message
    assert refused.json()["detail"][0]["msg"] == message


def test_a_garbage_bearer_token_is_called_malformed(base_url: str) -> None:
    for garbage in ("not-a-jwt", "abc.def.ghi", "x" * 40):
        refused = httpx.post(
            f"{base_url}{URL}", json=ask(), headers={"Authorization": f"Bearer {garbage}"}
        )
        assert refused.status_code == 401, refused.text
        body = refused.json()
        assert body["code"] == "unauthorized"
        assert body["error"].startswith("Malformed token: not a JWT")
        for internal in ("segments", "padding", "Invalid header", "utf-8", "decode"):
            assert internal not in body["error"]


def test_an_image_for_a_text_only_model_is_refused_in_words(http: httpx.Client) -> None:
    parts = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    direct = http.post(URL, json=ask(parts))
    assert direct.status_code == 422, direct.text
    assert direct.json()["error"]["message"] == "model 'echo-openai' does not support images"
    routed = http.post(
        URL, json={"messages": [{"role": "user", "content": parts}]} | {"auto_routing": True}
    )
    assert routed.status_code == 422, routed.text
    assert "no model supporting images" in routed.json()["error"]["message"]


def test_the_413_has_its_family_shape(http: httpx.Client, base_url: str) -> None:
    big = "x" * 100_000
    for url, body in ((URL, ask(big)), ("/ai/v1/message", {"query": big})):
        refused = http.post(url, json=body)
        assert refused.status_code == 413, (url, refused.text)
        assert refused.json()["error"]["name"] == "REQUEST_TOO_LARGE"
        assert refused.json()["error"]["type"] == "invalid_request_error"
    token = httpx.post(
        f"{base_url}/oauth2/token", data={"grant_type": "client_credentials", "pad": big}
    )
    assert token.status_code == 413
    assert token.json()["error"] == "invalid_request"  # OAuth2's shape, as on that route
    assert "too large" in token.json()["error_description"]


@pytest.fixture
def sdk(base_url: str, auth_headers: dict[str, str]) -> openai.OpenAI:
    token = auth_headers["Authorization"].removeprefix("Bearer ")
    return openai.OpenAI(base_url=f"{base_url}/ai/v2", api_key=token, max_retries=0)


def test_the_openai_sdk_reads_type_and_param(sdk: openai.OpenAI) -> None:
    hello = [{"role": "user", "content": "Hello"}]
    with pytest.raises(openai.BadRequestError) as typo:
        sdk.chat.completions.create(
            model="echo-openai", messages=hello, extra_body={"max_token": 5}
        )
    assert typo.value.type == "invalid_request_error" and typo.value.param == "max_token"
    assert "max_token" in typo.value.message

    with pytest.raises(openai.NotFoundError) as unknown:
        sdk.chat.completions.create(model="gloo-nope", messages=hello)
    assert unknown.value.type == "not_found_error" and unknown.value.param == "model"

    with pytest.raises(openai.UnprocessableEntityError) as invalid:
        sdk.chat.completions.create(model="echo-openai", messages=hello, temperature=9)
    assert invalid.value.type == "invalid_request_error"
    assert invalid.value.param == "temperature"

    answered = sdk.chat.completions.create(
        model="auto", messages=hello, user="u1", extra_body={"auto_routing": True}
    )
    assert answered.choices[0].message.content
