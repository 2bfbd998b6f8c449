"""The Responses API through the official OpenAI SDK against a live server, on SQLite and
PostgreSQL: create, stream, retrieve, input items, delete, chains and forks (checked in the
context the upstream received), tools, instructions, store=false, cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import openai
import orjson
import pytest
from openai import OpenAI

from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server
from tests.api.responses.support import responses_server, responses_settings, sdk
from tests.support.module_databases import module_database_url  # noqa: F401


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = responses_settings(
        tmp_path_factory.mktemp("responses"), upstream, module_database_url
    )
    with responses_server(settings) as running:
        yield running


@pytest.fixture
def client(server: V1Server) -> Iterator[OpenAI]:
    _, headers = server.new_client()  # each test its own API client: its own responses
    with sdk(server, headers) as openai_client:
        yield openai_client


def seen_by(upstream: UpstreamHandle, model: str) -> list[dict]:
    request = upstream.last_request(model)
    assert request is not None
    return request["body"]["messages"]


def texts(messages: list[dict]) -> list[str]:
    return [m.get("content") or "" for m in messages if m["role"] != "system"]


def test_create_retrieve_and_input_items(client: OpenAI) -> None:
    response = client.responses.create(model="echo-fast", input="Who wrote Romans?")
    assert response.status == "completed"
    assert response.output_text == "Who wrote Romans?"  # the echo model repeats the question
    assert response.id.startswith("resp_")
    assert response.usage is not None and response.usage.total_tokens > 0
    extra = response.model_extra or {}
    assert extra["routing_mechanism"] == "direct_model_selection"
    assert extra["safety"]["action"] == "none"

    again = client.responses.retrieve(response.id)
    assert again.output_text == response.output_text and again.status == "completed"
    items = client.responses.input_items.list(response.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == "Who wrote Romans?"


def test_auto_routing_when_no_model(client: OpenAI) -> None:
    response = client.responses.create(model="auto", input="Hello there")
    assert (response.model_extra or {})["routing_mechanism"] == "auto_routing"
    assert response.model in ("echo-fast", "echo-mid", "echo-deep")


def test_chain_carries_context_and_a_fork_leaves_the_other_branch_out(
    client: OpenAI, upstream: UpstreamHandle
) -> None:
    first = client.responses.create(model="echo-fast", input="first question")
    second = client.responses.create(
        model="echo-fast", input="second question", previous_response_id=first.id
    )
    assert texts(seen_by(upstream, "echo+tag-rfast")) == [
        "first question",
        "first question",
        "second question",
    ]
    # A fork: continue from the first response again; the second exchange is not in context.
    fork = client.responses.create(
        model="echo-fast", input="another path", previous_response_id=first.id
    )
    assert texts(seen_by(upstream, "echo+tag-rfast")) == [
        "first question",
        "first question",
        "another path",
    ]
    listed = client.responses.input_items.list(fork.id, order="asc")
    contents = [getattr(i, "content", None) for i in listed.data]
    words = [c[0].text for c in contents if c]
    assert words == ["first question", "first question", "another path"]
    assert "second question" not in words
    # The second response is still there, with its own chain.
    assert client.responses.retrieve(second.id).output_text == "second question"


def test_streaming_events_in_the_sdk_order(client: OpenAI) -> None:
    # Not "stream me please": the safety layer reads that as a crisis (a known false positive,
    # docs/safety.md), and this test is about the events.
    stream = client.responses.create(model="echo-fast", input="stream the reply", stream=True)
    kinds, text = [], ""
    final = None
    for event in stream:
        kinds.append(event.type)
        if event.type == "response.output_text.delta":
            text += event.delta
        if event.type == "response.completed":
            final = event.response
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert text == "stream the reply"
    assert final is not None and final.output_text == text and final.status == "completed"
    assert client.responses.retrieve(final.id).output_text == text


def test_stream_helper_gives_the_final_response(client: OpenAI) -> None:
    with client.responses.stream(model="echo-mid", input="helper text") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "helper text"


def test_function_call_then_its_output(client: OpenAI, upstream: UpstreamHandle) -> None:
    tools = [
        {
            "type": "function",
            "name": "lookup_verse",
            "description": "Find a verse",
            "parameters": {
                "type": "object",
                "properties": {"reference": {"type": "string"}},
                "required": ["reference"],
            },
        }
    ]
    called = client.responses.create(
        model="tooler", input="Find John 3:16", tools=tools, tool_choice="required"
    )
    calls = [item for item in called.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "lookup_verse"
    answered = client.responses.create(
        model="echo-fast",
        previous_response_id=called.id,
        input=[
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "For God so"}
        ],
        tools=tools,
    )
    seen = seen_by(upstream, "echo+tag-rfast")
    tool_messages = [m for m in seen if m["role"] == "tool"]
    assert tool_messages and tool_messages[-1]["tool_call_id"] == calls[0].call_id
    assert tool_messages[-1]["content"] == "For God so"
    assistant = [m for m in seen if m["role"] == "assistant" and m.get("tool_calls")]
    assert assistant[-1]["tool_calls"][0]["function"]["name"] == "lookup_verse"
    assert answered.status == "completed"
    items = client.responses.input_items.list(answered.id, order="asc")
    assert [i.type for i in items.data] == ["message", "function_call", "function_call_output"]


def test_instructions_reach_the_model_but_are_not_items(client: OpenAI) -> None:
    response = client.responses.create(
        model="recite", instructions="Answer with the next line.\nGRACE AND PEACE", input="Hi"
    )
    assert response.output_text == "GRACE AND PEACE"
    assert response.instructions == "Answer with the next line.\nGRACE AND PEACE"
    items = client.responses.input_items.list(response.id)
    assert [i.type for i in items.data] == ["message"]


def test_store_false_is_not_kept(client: OpenAI) -> None:
    first = client.responses.create(model="echo-fast", input="a note to keep")
    unstored = client.responses.create(
        model="echo-fast", input="a note not to keep", store=False, previous_response_id=first.id
    )
    assert unstored.output_text == "a note not to keep" and unstored.store is False
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(unstored.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.create(
            model="echo-fast", input="continue", previous_response_id=unstored.id
        )


def test_delete(client: OpenAI) -> None:
    response = client.responses.create(model="echo-fast", input="short lived")
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_another_clients_response_is_not_found(server: V1Server, client: OpenAI) -> None:
    mine = client.responses.create(model="echo-fast", input="private")
    _, other_headers = server.new_client()
    with sdk(server, other_headers) as other:
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(mine.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.input_items.list(mine.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.create(model="echo-fast", input="x", previous_response_id=mine.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(mine.id)
    assert client.responses.retrieve(mine.id).output_text == "private"


def test_cancel_a_running_stream_keeps_its_text(server: V1Server) -> None:
    _, headers = server.new_client()
    found: dict[str, str] = {}
    done = threading.Event()

    def read() -> None:
        body = {"model": "drip", "input": "go", "stream": True}
        with (
            httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http,
            http.stream("POST", "/ai/v1/responses", json=body) as streamed,
        ):
            for line in streamed.iter_lines():
                if line.startswith("data: ") and "response.created" in line and not found:
                    found["id"] = orjson.loads(line[6:])["response"]["id"]
                if "response.incomplete" in line:
                    found["ending"] = "incomplete"
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 20
    while "id" not in found and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # some tokens in, past the safety hold
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http:
        cancelled = http.post(f"/ai/v1/responses/{found['id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert done.wait(20)
        assert found.get("ending") == "incomplete"
        stored = http.get(f"/ai/v1/responses/{found['id']}").json()
        assert stored["status"] == "cancelled"
        assert stored["output"] and stored["output"][0]["content"][0]["text"]
        again = http.post(f"/ai/v1/responses/{found['id']}/cancel")
        assert again.status_code == 409
    reader.join()


def test_parameters_reach_the_model_and_are_echoed(
    client: OpenAI, upstream: UpstreamHandle
) -> None:
    schema = {
        "type": "object",
        "properties": {"book": {"type": "string"}},
        "required": ["book"],
        "additionalProperties": False,
    }
    response = client.responses.create(
        model="echo-mid",
        input='{"book": "Romans"}',
        temperature=0.3,
        top_p=0.9,
        max_output_tokens=50,
        metadata={"ticket": "42"},
        text={"format": {"type": "json_schema", "name": "book", "schema": schema, "strict": True}},
    )
    sent = upstream.last_request("echo+tag-rmid")["body"]
    assert sent["temperature"] == 0.3 and sent["top_p"] == 0.9
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == schema
    assert response.metadata == {"ticket": "42"}
    assert response.temperature == 0.3 and response.max_output_tokens == 50
    assert response.text is not None and response.text.format.type == "json_schema"
    assert client.responses.retrieve(response.id).metadata == {"ticket": "42"}


def test_a_model_failing_mid_stream_ends_in_response_failed(server: V1Server) -> None:
    _, headers = server.new_client()
    with server.client(headers) as http:
        streamed = http.post(
            "/ai/v1/responses", json={"model": "broken", "input": "go", "stream": True}
        )
        assert streamed.status_code == 200
        seen = [
            orjson.loads(line[6:])
            for line in streamed.text.splitlines()
            if line.startswith("data: ")
        ]
        assert [e["type"] for e in seen[-2:]] == ["error", "response.failed"]
        failed = seen[-1]["response"]
        assert failed["status"] == "failed" and failed["error"]["message"]
        stored = http.get(f"/ai/v1/responses/{failed['id']}").json()
        assert stored["status"] == "failed"
        # Not streamed: the failure is an HTTP error in the contract's shape; the input stays.
        whole = http.post("/ai/v1/responses", json={"model": "broken", "input": "again"})
        assert whole.status_code in (502, 503), whole.text
        assert whole.json()["error"]["name"].startswith("PROVIDER")


def test_created_shows_the_response_before_its_answer(client: OpenAI) -> None:
    # A fast model can settle the reply before the stream's first event is written; the
    # `response.created` event must still be the response as it was (the SDK refuses an
    # `output_item.added` for an index that `created` already held).
    for _ in range(10):
        with client.responses.stream(model="echo-mid", input="quick") as stream:
            events = list(stream)
        created = events[0]
        assert created.type == "response.created"
        assert created.response.status == "in_progress" and created.response.output == []
