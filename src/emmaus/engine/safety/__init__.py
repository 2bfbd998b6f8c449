"""The safety layer: crisis support, harmful-request refusal, output and stream screening, and
OpenAI-shaped moderation, offline (numpy and regular expressions, one small model file).

    layer = SafetyLayer.from_settings(policy_path)   # None: the built-in default_policy.toml
    verdict = layer.assess_input(messages, client_id)
    support_message(verdict, layer.policy_for(client_id), tradition)

See `layer` for the entry points, `classifier` for how scores are made, `policy` for the
operator's TOML and `messages` for the texts the layer guarantees."""

from emmaus.engine.safety.layer import SafetyLayer
from emmaus.engine.safety.messages import (
    HelpResource,
    help_resources,
    output_replacement_message,
    refusal_message,
    support_message,
)
from emmaus.engine.safety.moderation import OPENAI_CATEGORIES, ModerationResult
from emmaus.engine.safety.policy import (
    ClientPolicy,
    SafetyPolicy,
    SafetyPolicyError,
    default_policy,
    load_policy,
)
from emmaus.engine.safety.stream import StreamScreen
from emmaus.engine.safety.verdict import (
    CATEGORIES,
    CRISIS_CATEGORIES,
    HARMFUL_CATEGORIES,
    Verdict,
)

__all__ = [
    "CATEGORIES",
    "CRISIS_CATEGORIES",
    "HARMFUL_CATEGORIES",
    "OPENAI_CATEGORIES",
    "ClientPolicy",
    "HelpResource",
    "ModerationResult",
    "SafetyLayer",
    "SafetyPolicy",
    "SafetyPolicyError",
    "StreamScreen",
    "Verdict",
    "default_policy",
    "help_resources",
    "load_policy",
    "output_replacement_message",
    "refusal_message",
    "support_message",
]
