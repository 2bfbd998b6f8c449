"""The safety layer the services call: inputs, outputs, streams and the moderation endpoint.

layer = SafetyLayer.from_settings(settings.safety_policy)   # None: the built-in policy
verdict = layer.assess_input(messages, client_id)
if verdict.action == "support": reply with support_message(verdict, layer.policy_for(...), t)
if verdict.action == "refuse":  reply with refusal_message(verdict, ...)
screen = layer.stream_screen(client_id); send(screen.feed(delta)) ...; screen.finish()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emmaus.engine.safety.classifier import SafetyClassifier
from emmaus.engine.safety.moderation import ModerationResult, to_moderation
from emmaus.engine.safety.policy import ClientPolicy, SafetyPolicy, load_policy
from emmaus.engine.safety.semantic import warm_up_in_background
from emmaus.engine.safety.stream import StreamScreen
from emmaus.engine.safety.verdict import CRISIS_CATEGORIES, Verdict, decide
from emmaus.engine.types import Message


class SafetyLayer:
    def __init__(self, policy: SafetyPolicy, classifier: SafetyClassifier) -> None:
        self.policy = policy
        self.classifier = classifier

    @classmethod
    def from_settings(cls, policy_path: str | Path | None = None) -> SafetyLayer:
        """The built-in policy (or the operator's file laid over it) and the shipped models;
        the second stage's embedding model starts loading in the background."""
        layer = cls(load_policy(policy_path), SafetyClassifier.load())
        if layer.classifier.second is not None:
            warm_up_in_background()
        return layer

    def policy_for(self, client_id: str | None) -> ClientPolicy:
        return self.policy.for_client(client_id)

    def assess_input(self, messages: Sequence[Message], client_id: str | None = None) -> Verdict:
        """The verdict on the newest user turn, read with the earlier user turns before it (the
        classifier keeps a bounded window of them)."""
        policy = self.policy.for_client(client_id)
        if not policy.enabled:
            return Verdict.NONE
        turns = [m.content for m in messages if m.role == "user" and m.content]
        if not turns:
            return Verdict.NONE
        scores = self.classifier.score(turns[-1], turns[-9:-1])
        return decide(scores, policy.thresholds, policy.actions)

    def assess_text(self, text: str, client_id: str | None = None) -> Verdict:
        """The verdict on one user-written text with no conversation around it."""
        policy = self.policy.for_client(client_id)
        if not policy.enabled or not text:
            return Verdict.NONE
        return decide(self.classifier.score(text), policy.thresholds, policy.actions)

    def screen_text(self, text: str, client_id: str | None = None) -> Verdict:
        """The verdict on model output or tool-call arguments: harmful categories only (a
        careful answer with "call or text 988" is never flagged)."""
        policy = self.policy.for_client(client_id)
        if not policy.enabled or not text:
            return Verdict.NONE
        scores = self.classifier.score_output(text)
        actions = {c: ("none" if c in CRISIS_CATEGORIES else a) for c, a in policy.actions.items()}
        verdict = decide(scores, policy.thresholds, actions)
        if verdict.flagged and verdict.action == "support":
            # An operator may route a harmful category to support; for outputs, it is replaced.
            return Verdict("refuse", verdict.categories, verdict.scores, verdict.severity)
        return verdict

    def stream_screen(
        self, client_id: str | None = None, hold: int = 200, opening: int = 0
    ) -> StreamScreen:
        return StreamScreen(
            lambda text: self.screen_text(text, client_id), hold=hold, opening=opening
        )

    def moderate(self, texts: list[str], client_id: str | None = None) -> list[ModerationResult]:
        """OpenAI-shaped moderation of each text on its own, plus our crisis fields."""
        policy = self.policy.for_client(client_id)
        results = []
        for text in texts:
            scores = self.classifier.score(text) if text else Verdict.NONE.scores
            if policy.enabled:
                verdict = decide(scores, policy.thresholds, policy.actions)
            else:
                verdict = Verdict("none", (), dict(scores), "none")
            results.append(to_moderation(verdict))
        return results
