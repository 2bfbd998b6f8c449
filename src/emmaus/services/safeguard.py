"""The safety layer applied to one completion, the same way on every route that calls a model
(v2, grounded, v1 turns, suggestions and titles): the newest user turn is judged before the
model is called; a crisis gets the layer's support message (help resources guaranteed, never
left to the model), a harmful request a refusal with `finish_reason: "content_filter"` and no
model call; otherwise the model answers and its text (and tool-call arguments) is screened
before it leaves, streams included, holding back a window so flagged text never reaches the
client."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Literal

from emmaus.engine.safety.layer import SafetyLayer
from emmaus.engine.safety.messages import (
    HelpResource,
    help_resources,
    lists_resources,
    output_replacement_message,
    refusal_message,
    support_message,
)
from emmaus.engine.safety.verdict import Verdict
from emmaus.engine.types import Completion, Message, StreamDelta, ToolCallDelta, Usage
from emmaus.errors import EmmausError
from emmaus.observability import metrics

log = logging.getLogger(__name__)

# full: judge the input and screen the output; output: screen the output only (follow-up calls
# whose input was judged already); off: internal calls (summaries) whose text never leaves.
Screening = Literal["full", "output", "off"]


@dataclass(slots=True)
class SafetyOutcome:
    """What the layer decided for one completion: the input verdict, then the output's."""

    input: Verdict = field(default_factory=lambda: Verdict.NONE)
    output: Verdict = field(default_factory=lambda: Verdict.NONE)
    # The help resources the layer's own text lists (a support answer, or a refusal or
    # replacement that turns to support), in its order, so a client can show them as links or
    # buttons without reading them out of the text.
    resources: tuple[HelpResource, ...] = ()

    @property
    def verdict(self) -> Verdict:
        """The verdict a client is shown: the input's when it acted, else the output's."""
        return self.input if self.input.action != "none" else self.output

    @property
    def answered_by_layer(self) -> bool:
        return self.input.action != "none"

    def to_dict(self) -> dict[str, object]:
        verdict = self.verdict
        return {
            "action": verdict.action,
            "categories": list(verdict.categories),
            "severity": verdict.severity,
            "resources": [
                {"name": r.name, "contact": r.contact, "description": r.description, "url": r.url}
                for r in self.resources
            ],
        }


class Safeguard:
    def __init__(
        self, layer: SafetyLayer | None, *, stream_hold: int = 200, stream_opening: int = 0
    ) -> None:
        """`stream_hold`: characters of a streamed answer held back until screened with what
        follows them (a smaller hold streams sooner and sees less of what comes next);
        `stream_opening`: characters of its first words sent once screened on their own."""
        self.layer = layer
        self.stream_hold = stream_hold
        self.stream_opening = stream_opening
        # Non-`none` verdicts by (stage, action, category): what the metrics will export.
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def assess(
        self, messages: list[Message], client_id: str | None, screening: Screening
    ) -> SafetyOutcome:
        if self.layer is None or screening != "full":
            return SafetyOutcome()
        verdict = self.layer.assess_input(messages, client_id)
        if verdict.action == "none":
            return SafetyOutcome(input=verdict)
        self._record("input", verdict, client_id)
        return SafetyOutcome(input=verdict, resources=self._resources(verdict, client_id))

    def layer_answer(
        self, outcome: SafetyOutcome, client_id: str | None, tradition: str | None
    ) -> Completion:
        """The answer the layer gives instead of the model (support or refusal)."""
        assert self.layer is not None
        verdict = outcome.input
        policy = self.layer.policy_for(client_id)
        if verdict.action == "support":
            return Completion(support_message(verdict, policy, tradition), [], "stop", Usage())
        return Completion(
            refusal_message(verdict, policy, tradition), [], "content_filter", Usage()
        )

    def screen_completion(
        self, completion: Completion, outcome: SafetyOutcome, client_id: str | None, on: bool
    ) -> Completion:
        if self.layer is None or not on:
            return completion
        texts = [completion.content or "", *(call.arguments for call in completion.tool_calls)]
        verdict = self.layer.screen_text("\n".join(t for t in texts if t), client_id)
        if not verdict.flagged:
            return completion
        replacement = self._replace_output(outcome, verdict, client_id)
        return replace(
            completion, content=replacement, tool_calls=[], finish_reason="content_filter"
        )

    async def screen_stream(
        self,
        deltas: AsyncIterator[StreamDelta],
        outcome: SafetyOutcome,
        client_id: str | None,
    ) -> AsyncIterator[StreamDelta]:
        """Release text once screened with what follows it; tool calls once complete."""
        assert self.layer is not None
        screen = self.layer.stream_screen(
            client_id, hold=self.stream_hold, opening=self.stream_opening
        )
        calls: dict[int, ToolCallDelta] = {}
        finish: StreamDelta | None = None
        usage: Usage | None = None
        released = ""
        try:
            try:
                async for delta in deltas:
                    usage = delta.usage or usage
                    released = screen.feed(delta.content) if delta.content else ""
                    for part in delta.tool_calls or ():
                        held = calls.setdefault(part.index, ToolCallDelta(part.index))
                        held.id = held.id or part.id
                        held.name = held.name or part.name
                        held.arguments += part.arguments
                    if screen.flagged:
                        break  # stop the model: nothing more of this answer will be sent
                    if delta.finish_reason is not None:
                        finish = delta
                        break
                    if released or delta.usage is not None:
                        yield StreamDelta(content=released or None, usage=delta.usage)
            except EmmausError:
                # The stream broke: what was held back is released if it is clean (the caller
                # keeps it as the partial answer), then the error goes on.
                rest, verdict = screen.finish()
                if rest and not verdict.flagged:
                    yield StreamDelta(content=rest)
                raise
            rest, verdict = screen.finish()
            if not verdict.flagged and calls:
                arguments = "\n".join(call.arguments for call in calls.values())
                verdict = self.layer.screen_text(arguments, client_id)
            if verdict.flagged:
                text = self._replace_output(outcome, verdict, client_id)
                yield StreamDelta(content=text, finish_reason="content_filter", usage=usage)
                return
            text = ((released if finish is not None else "") + rest) or None
            tools = list(calls.values()) or None
            if finish is not None:
                yield replace(finish, content=text, tool_calls=tools)
            elif text or tools:  # the provider ended without finishing: the caller reports it
                yield StreamDelta(content=text, tool_calls=tools)
        finally:
            aclose = getattr(deltas, "aclose", None)
            if aclose is not None:
                await aclose()

    def _resources(self, verdict: Verdict, client_id: str | None) -> tuple[HelpResource, ...]:
        assert self.layer is not None
        if not lists_resources(verdict):
            return ()
        return tuple(help_resources(verdict, self.layer.policy_for(client_id)))

    def _replace_output(
        self, outcome: SafetyOutcome, verdict: Verdict, client_id: str | None
    ) -> str:
        """Record a flagged output on `outcome`; the text that replaces (or ends) it."""
        assert self.layer is not None
        outcome.output = verdict
        outcome.resources = self._resources(verdict, client_id)
        self._record("output", verdict, client_id)
        return output_replacement_message(verdict, self.layer.policy_for(client_id))

    def _record(self, stage: str, verdict: Verdict, client_id: str | None) -> None:
        for category in verdict.categories:
            self.counts[(stage, verdict.action, category)] += 1
            metrics.safety_action(stage, verdict.action, category)
        # Ids and categories only: message text never reaches the log at the default level.
        log.info(
            "safety %s verdict %s %s (severity %s) for client %s",
            stage,
            verdict.action,
            ",".join(verdict.categories),
            verdict.severity,
            client_id or "-",
        )
