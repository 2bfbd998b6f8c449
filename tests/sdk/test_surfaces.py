"""The sync SDK against a live Emmaus on every surface: Completions v2, grounded completions,
the v1 chats, Responses, Conversations, the catalog, the OpenAI SDK hook, and the errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from emmaus.testing import UpstreamHandle
from emmaus_client import (
    AuthenticationError,
    Emmaus,
    NotFoundError,
    ProviderError,
    ValidationError,
)
from emmaus_client.types import (
    ChatCompletion,
    CompletionDelta,
    GroundedCompletion,
    MessageDelta,
    MessageResponse,
    Response,
    ResponseTextDelta,
)
from tests.sdk.servers import Server

QUESTION = [{"role": "user", "content": "What is the meaning of grace in the letters of Paul?"}]
LONG = [
    {
        "role": "user",
        "content": "Explain how the parables of the lost sheep, the lost coin and the lost son "
        "fit together, and what each one says about joy, searching and coming home again.",
    }
]


def test_completion_carries_routing_usage_and_safety(client: Emmaus) -> None:
    answer = client.completions.create(QUESTION, max_tokens=64)
    assert answer.content == QUESTION[0]["content"]  # the echo model repeats the question
    assert answer.finish_reason == "stop"
    assert answer.routing.routing_mechanism == "auto_routing" and answer.routing.auto_routing
    assert answer.routing.routing_tier in ("tier_1", "tier_2", "tier_3")
    assert 0 <= (answer.routing.routing_confidence or -1) <= 1
    assert answer.model == answer.routing.model and answer.model.startswith("echo-")
    assert answer.usage.completion_tokens > 0 and answer.usage.total_tokens > 0
    assert answer.safety is not None and answer.safety.action == "none"


def test_direct_model_and_family_routing(client: Emmaus) -> None:
    direct = client.completions.create(QUESTION, model="echo-deep", tradition="catholic")
    assert direct.model == "echo-deep"
    assert direct.routing.routing_mechanism == "direct_model_selection"
    assert direct.routing.tradition == "catholic"
    family = client.completions.create(QUESTION, model_family="anthropic")
    assert family.routing.routing_mechanism == "model_family"
    assert family.routing.model_family == "Anthropic"


def test_stream_yields_deltas_then_the_final_completion(client: Emmaus) -> None:
    stream = client.completions.stream(LONG, max_tokens=200)
    events = list(stream)
    *deltas, final = events
    assert all(isinstance(d, CompletionDelta) for d in deltas)
    assert isinstance(final, ChatCompletion) and final is stream.result
    text = "".join(d.content or "" for d in deltas)
    assert text == final.content == LONG[0]["content"]
    assert len([d for d in deltas if d.content]) > 1  # it did arrive in pieces
    assert deltas[-1].finish_reason == "stop"
    assert final.routing.routing_mechanism == "auto_routing"
    assert final.usage.completion_tokens > 0  # from the usage chunk


def test_leaving_a_stream_early_stops_the_model(
    client: Emmaus, sdk_upstream: UpstreamHandle
) -> None:
    with client.completions.stream(QUESTION, model="slow-drip") as stream:
        first = next(iter(stream))
        assert isinstance(first, CompletionDelta)
    cancelled = asyncio.run(
        sdk_upstream.wait_cancelled("drip-100+tokens-200+tag-sdkdrip", within=5)
    )
    assert cancelled  # the upstream saw the hang-up


def test_an_error_in_the_middle_of_a_stream_raises(client: Emmaus) -> None:
    received: list[object] = []
    with pytest.raises(ProviderError) as failed:
        for event in client.completions.stream(LONG, model="cut-off"):
            received.append(event)
    assert failed.value.status == 200 and failed.value.name is not None
    assert failed.value.retryable
    assert not any(isinstance(e, ChatCompletion) for e in received)


def test_grounded_completion_with_citations(client: Emmaus, server: Server) -> None:
    document = (
        "Sourdough bread rises because wild yeast and lactic bacteria ferment the flour. "
        "A starter is fed with flour and water every day and kept warm."
    )
    upload = httpx.post(
        f"{server.base_url}/ai/v2/library/documents",
        headers={"Authorization": f"Bearer {client.token()}"},
        data={"publisher": "sdk-bakery", "title": "Sourdough notes"},
        files={"file": ("sourdough.txt", document.encode(), "text/plain")},
        timeout=60,
    )
    assert upload.status_code in (200, 201), upload.text
    question = [{"role": "user", "content": "How does sourdough bread rise?"}]
    options = {"rag_publisher": "sdk-bakery", "include_citations": True, "sources_limit": 2}
    answer = client.completions.grounded(question, **options)
    assert isinstance(answer, GroundedCompletion) and answer.sources_returned
    assert [c.item_title for c in answer.citations] == ["Sourdough notes"]
    assert "yeast" in " ".join(answer.citations[0].snippets)
    assert answer.completion.routing.routing_mechanism == "auto_routing"

    streamed = client.completions.grounded_stream(question, **options).until_done()
    assert streamed.sources_returned and streamed.citations[0].item_title == "Sourdough notes"
    assert streamed.content == question[0]["content"]


def test_v1_chat_lifecycle(client: Emmaus) -> None:
    first = client.chats.send("Who wrote the Gospel of Mark?", enable_suggestions=0)
    assert isinstance(first, MessageResponse) and first.success
    assert first.chat_id.startswith("c") and first.message == "Who wrote the Gospel of Mark?"
    assert first.timestamp is not None and first.timestamp.tzinfo is not None
    second = client.chats.send(
        "Where was the apostle Paul born?", chat_id=first.chat_id, enable_suggestions=0
    )
    assert second.chat_id == first.chat_id

    stream = client.chats.send_stream(
        "What does the Greek word for gospel mean, and where does the word come from?",
        chat_id=first.chat_id,
        enable_suggestions=0,
    )
    *deltas, final = list(stream)
    assert deltas and all(isinstance(d, MessageDelta) for d in deltas)
    assert isinstance(final, MessageResponse)
    assert (
        "".join(d.text for d in deltas)
        == final.message
        == "What does the Greek word for gospel mean, and where does the word come from?"
    )

    history = client.chats.get(first.chat_id)
    assert [m.role for m in history.messages] == ["user", "kallm"] * 3
    assert [m.message for m in history.messages][::2] == [
        "Who wrote the Gospel of Mark?",
        "Where was the apostle Paul born?",
        "What does the Greek word for gospel mean, and where does the word come from?",
    ]
    assert first.chat_id in [c.chat_id for c in client.chats.list(limit=100).chats]
    assert client.chats.update(first.chat_id, "title", "Greetings") == "Greetings"
    assert client.chats.get(first.chat_id).title == "Greetings"

    assert not client.chats.stop(final.message_id, chat_id=first.chat_id)  # it had finished

    removed = client.chats.delete_message(query_id=second.query_id)
    assert len(removed) == 2
    assert len(client.chats.get(first.chat_id).messages) == 4
    assert client.chats.delete(first.chat_id)
    with pytest.raises(NotFoundError) as caught:
        client.chats.get(first.chat_id)
    assert caught.value.status == 404 and caught.value.name == "CHAT_NOT_FOUND"


def test_responses_chain_stream_and_delete(client: Emmaus) -> None:
    first = client.responses.create("Who wrote the letter to the Romans?", max_output_tokens=40)
    assert isinstance(first, Response) and first.status == "completed"
    assert first.output_text == "Who wrote the letter to the Romans?"
    assert first.routing.routing_mechanism == "auto_routing"
    assert client.responses.retrieve(first.id).output_text == first.output_text

    second = client.responses.create(
        "Name one of its themes.", previous_response_id=first.id, max_output_tokens=40
    )
    assert second.previous_response_id == first.id
    items = client.responses.input_items(second.id)
    assert [i.text for i in items.data if i.role == "user"] == [
        "Who wrote the letter to the Romans?",
        "Name one of its themes.",
    ]

    stream = client.responses.stream("Say something about patience.", max_output_tokens=40)
    *deltas, final = list(stream)
    assert deltas and all(isinstance(d, ResponseTextDelta) for d in deltas)
    assert isinstance(final, Response) and final.status == "completed"
    assert "".join(d.delta for d in deltas) == final.output_text

    assert client.responses.delete(first.id)
    with pytest.raises(NotFoundError):
        client.responses.retrieve(first.id)


def test_conversations(client: Emmaus) -> None:
    conversation = client.conversations.create(metadata={"topic": "Romans"})
    assert conversation.metadata == {"topic": "Romans"}
    added = client.conversations.add_items(
        conversation.id, [{"type": "message", "role": "user", "content": "Some context first."}]
    )
    assert [i.text for i in added.data] == ["Some context first."]
    answer = client.responses.create(
        "What is faith?", conversation=conversation.id, max_output_tokens=40
    )
    assert answer.conversation_id == conversation.id
    items = client.conversations.items(conversation.id, order="asc")
    assert [(i.role, i.text) for i in items.data] == [
        ("user", "Some context first."),
        ("user", "What is faith?"),
        ("assistant", "What is faith?"),
    ]
    updated = client.conversations.update(conversation.id, metadata={"topic": "faith"})
    assert client.conversations.retrieve(conversation.id).metadata == updated.metadata
    assert client.conversations.delete(conversation.id)
    with pytest.raises(NotFoundError):
        client.conversations.retrieve(conversation.id)


def test_catalog(client: Emmaus) -> None:
    ids = {model["id"] for model in client.models()}
    assert {"echo-fast", "echo-mid", "echo-deep"} <= ids


def test_errors_are_typed_and_not_retried(client: Emmaus, server: Server) -> None:
    sent = client.transport.attempts
    with pytest.raises(ValidationError) as invalid:
        client.completions.create(QUESTION, model="echo-fast", model_family="openai")
    assert invalid.value.status == 422 and invalid.value.name == "ROUTING_RULE"
    with pytest.raises(NotFoundError) as unknown:
        client.completions.create(QUESTION, model="no-such-model")
    assert unknown.value.name == "MODEL_NOT_FOUND"
    assert client.transport.attempts == sent + 2  # a 4xx is never retried

    with pytest.raises(ProviderError) as broken:
        Emmaus(
            server.base_url,
            client_id=server.client_id,
            client_secret=server.client_secret,
            max_retries=1,
            backoff=0.01,
        ).completions.create(QUESTION, model="always-broken")
    assert broken.value.status >= 500 and broken.value.retryable

    wrong = Emmaus(server.base_url, client_id=server.client_id, client_secret="not-the-secret")
    with pytest.raises(AuthenticationError) as refused:
        wrong.completions.create(QUESTION)
    assert refused.value.status == 401 and refused.value.code == "invalid_client"


def test_openai_sdk_with_a_self_renewing_token(client: Emmaus) -> None:
    openai_client = client.openai()
    answer = openai_client.chat.completions.create(
        model="auto", messages=QUESTION, extra_body={"auto_routing": True}
    )
    assert answer.choices[0].message.content == QUESTION[0]["content"]
    assert (answer.model_extra or {})["routing_mechanism"] == "auto_routing"

    responses = client.openai(path="/ai/v1")
    first = responses.responses.create(model="auto", input="What is hope?", max_output_tokens=30)
    assert first.output_text == "What is hope?"
