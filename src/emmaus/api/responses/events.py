"""The SSE events of a streamed response, in the order the OpenAI SDK reads them:
`response.created`, `response.in_progress`, per output item `output_item.added`, (for text)
`content_part.added`, `output_text.delta`…, `output_text.done`, `content_part.done`, (for a
function call) `function_call_arguments.delta`…, `.done`, then `output_item.done`; last
`response.completed` (or `.incomplete`, or `.failed` after an `error` event)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from emmaus.api.responses.render import call_item_id, response_object
from emmaus.catalog import Catalog
from emmaus.errors import EmmausError
from emmaus.services.responses.run import ResponseRun
from emmaus.services.responses.types import Finished, ResponseEvent, TextPiece, ToolPiece

_ENDINGS = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "cancelled": "response.incomplete",
    "failed": "response.failed",
}


class EventWriter:
    def __init__(self, run: ResponseRun, catalog: Catalog) -> None:
        self.run = run
        self.catalog = catalog
        self.model = run.plan.decision.model.id
        self.sequence = 0
        self.items = 0  # output items opened so far
        self.text_index: int | None = None  # output index of the message item, once open
        self.text = ""
        self.calls: dict[int, dict[str, Any]] = {}  # tool call index -> its open item

    def event(self, kind: str, **fields: Any) -> bytes:
        body = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(body) + b"\n\n"

    def opening(self) -> bytes:
        response = response_object(self.run.pending, self.catalog, model=self.model)
        return self.event("response.created", response=response) + self.event(
            "response.in_progress", response=response
        )

    def piece(self, event: ResponseEvent) -> bytes:
        if isinstance(event, TextPiece):
            return self._text(event.text)
        if isinstance(event, ToolPiece):
            return self._tool(event)
        return b""

    def _text(self, text: str) -> bytes:
        out = b""
        item_id = self.run.reply.id
        if self.text_index is None:
            self.text_index, self.items = self.items, self.items + 1
            item = {"id": item_id, "type": "message", "role": "assistant"}
            item |= {"status": "in_progress", "content": []}
            out += self.event("response.output_item.added", output_index=self.text_index, item=item)
            out += self.event(
                "response.content_part.added",
                item_id=item_id,
                output_index=self.text_index,
                content_index=0,
                part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            )
        self.text += text
        return out + self.event(
            "response.output_text.delta",
            item_id=item_id,
            output_index=self.text_index,
            content_index=0,
            delta=text,
            logprobs=[],
        )

    def _tool(self, event: ToolPiece) -> bytes:
        delta, out = event.delta, b""
        item = self.calls.get(delta.index)
        if item is None:
            item = {
                "id": call_item_id(self.run.reply.id, delta.index),
                "type": "function_call",
                "call_id": delta.id or "",
                "name": delta.name or "",
                "arguments": "",
                "status": "in_progress",
                "output_index": self.items,
            }
            self.items += 1
            self.calls[delta.index] = item
            shown = {k: v for k, v in item.items() if k != "output_index"}
            out += self.event(
                "response.output_item.added", output_index=item["output_index"], item=shown
            )
        item["arguments"] += delta.arguments
        if not delta.arguments:
            return out
        return out + self.event(
            "response.function_call_arguments.delta",
            item_id=item["id"],
            output_index=item["output_index"],
            delta=delta.arguments,
        )

    def closing(self, finished: Finished) -> bytes:
        record = finished.record
        response = response_object(record, self.catalog, model=self.model)
        out = b""
        final = {item["id"]: item for item in response["output"]}
        if self.text_index is not None:
            item_id = self.run.reply.id
            done = final.get(item_id) or {
                "id": item_id,
                "type": "message",
                "role": "assistant",
                "status": "incomplete",
                "content": [],
            }
            text = record.reply.content or self.text
            part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
            where = {"item_id": item_id, "output_index": self.text_index, "content_index": 0}
            out += self.event("response.output_text.done", **where, text=text, logprobs=[])
            out += self.event("response.content_part.done", **where, part=part)
            out += self.event("response.output_item.done", output_index=self.text_index, item=done)
        for item in self.calls.values():
            index = item.pop("output_index")
            done = final.get(item["id"]) or {**item, "status": "incomplete"}
            out += self.event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                name=done.get("name", ""),
                arguments=done.get("arguments", ""),
            )
            out += self.event("response.output_item.done", output_index=index, item=done)
        if response["status"] == "failed":
            error = response.get("error") or {}
            out += self.event(
                "error", code=error.get("code"), message=error.get("message", ""), param=None
            )
        return out + self.event(_ENDINGS[response["status"]], response=response)

    def failure(self, exc: EmmausError) -> bytes:
        """An error the run could not settle into a response (it should not happen)."""
        return self.event("error", code=exc.name.lower(), message=exc.message, param=None)


async def sse_events(
    writer: EventWriter, events: AsyncIterator[ResponseEvent]
) -> AsyncIterator[bytes]:
    yield writer.opening()
    try:
        async for event in events:
            if isinstance(event, Finished):
                yield writer.closing(event)
                return
            yield writer.piece(event)
    except EmmausError as exc:
        yield writer.failure(exc)
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
