import pytest

from emmaus.catalog import parse_catalog
from emmaus.engine.router import Router, RoutingRequest
from emmaus.engine.types import Message
from emmaus.errors import (
    CapabilityNotSupported,
    ContextTooLong,
    ModelNotFound,
    NoModelAvailable,
    RoutingRuleViolation,
)

CATALOG = """
[[models]]
id = "small-open"
family = "open source"
tier = 1
provider = "openai"
base_url = "http://127.0.0.1:1/v1"
context_window = 4096
capabilities = ["streaming"]

[[models]]
id = "mid-openai"
family = "openai"
tier = 2
provider = "openai"
base_url = "http://127.0.0.1:1/v1"
context_window = 128000
input_cost_per_1k = 0.5
capabilities = ["streaming", "tools", "json"]

[[models]]
id = "mid-openai-cheap"
family = "openai"
tier = 2
provider = "openai"
base_url = "http://127.0.0.1:1/v1"
context_window = 128000
input_cost_per_1k = 0.1
capabilities = ["streaming", "tools"]

[[models]]
id = "big-anthropic"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "http://127.0.0.1:1/v1"
context_window = 200000
input_cost_per_1k = 3
capabilities = ["streaming", "tools", "json"]

[[models]]
id = "big-anthropic-2"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "http://127.0.0.1:1/v1"
context_window = 200000
input_cost_per_1k = 4
capabilities = ["streaming", "tools", "json"]
"""

SIMPLE = [Message("user", "Hi")]
DEEP = [
    Message(
        "user",
        "Explain and compare the exegesis of justification in Calvin and the Catechism, "
        "evaluate the implications, step by step.",
    )
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(parse_catalog(CATALOG))


@pytest.mark.parametrize(
    "request_",
    [
        RoutingRequest(),
        RoutingRequest(auto_routing=False),
        RoutingRequest(model=""),
        RoutingRequest(model="auto"),
        RoutingRequest(auto_routing=True, model="mid-openai"),
        RoutingRequest(auto_routing=True, model_family="openai"),
        RoutingRequest(model="mid-openai", model_family="openai"),
        RoutingRequest(auto_routing=True, model="x", model_family="openai"),
    ],
)
def test_exactly_one_mechanism(router: Router, request_: RoutingRequest) -> None:
    with pytest.raises(RoutingRuleViolation, match="exactly one routing mechanism"):
        router.route(request_, SIMPLE)


def test_auto_routing_false_with_a_family_counts_once(router: Router) -> None:
    decision = router.route(RoutingRequest(auto_routing=False, model_family="anthropic"), SIMPLE)
    assert decision.mechanism == "model_family"


def test_sdk_default_model_with_auto_routing(router: Router) -> None:
    decision = router.route(RoutingRequest(auto_routing=True, model="auto"), SIMPLE)
    assert decision.mechanism == "auto_routing"


def test_direct_model(router: Router) -> None:
    decision = router.route(RoutingRequest(model="big-anthropic"), SIMPLE)
    assert decision.mechanism == "direct_model_selection"
    assert decision.model.id == "big-anthropic"
    assert decision.chain == (decision.model,)  # an explicit choice never falls back
    assert decision.confidence == 1.0


def test_unknown_model_names_it(router: Router) -> None:
    with pytest.raises(ModelNotFound, match="gloo-nope"):
        router.route(RoutingRequest(model="gloo-nope"), SIMPLE)


def test_direct_model_without_capability(router: Router) -> None:
    with pytest.raises(CapabilityNotSupported, match="tools"):
        router.route(RoutingRequest(model="small-open", needs=frozenset({"tools"})), SIMPLE)


def test_auto_routing_picks_tier(router: Router) -> None:
    simple = router.route(RoutingRequest(auto_routing=True), SIMPLE)
    assert simple.tier_name == "tier_1"
    assert simple.model.id == "small-open"
    deep = router.route(RoutingRequest(auto_routing=True), DEEP)
    assert deep.tier_name == "tier_3"
    assert deep.model.id == "big-anthropic"  # cheaper of the two tier-3 models
    assert [m.id for m in deep.chain] == ["big-anthropic", "big-anthropic-2"]
    assert "chose big-anthropic" in deep.reason


def test_family_falls_back_to_nearest_tier(router: Router) -> None:
    decision = router.route(RoutingRequest(model_family="openai"), DEEP)
    assert decision.tier_name == "tier_3"
    assert decision.model.id == "mid-openai-cheap"
    assert "nearest is tier_2" in decision.reason
    assert decision.reason.startswith("family OpenAI")


def test_capabilities_filter_candidates(router: Router) -> None:
    decision = router.route(
        RoutingRequest(model_family="openai", needs=frozenset({"json"})), SIMPLE
    )
    assert decision.model.id == "mid-openai"
    with pytest.raises(NoModelAvailable, match="Google"):
        router.route(RoutingRequest(model_family="google"), SIMPLE)
    with pytest.raises(NoModelAvailable, match="tools"):
        router.route(RoutingRequest(model_family="open source", needs=frozenset({"tools"})), SIMPLE)


def test_auto_routing_needs_tools_skips_incapable_tier(router: Router) -> None:
    decision = router.route(RoutingRequest(auto_routing=True, needs=frozenset({"tools"})), SIMPLE)
    assert decision.model.supports("tools")
    assert decision.tier_name == "tier_1"


BORDERLINE = [Message("user", "Write a short blessing for a new baby.")]


def test_preference_moves_the_tier_one_way(router: Router) -> None:
    tiers = [
        router.route(RoutingRequest(auto_routing=True, preference=p), BORDERLINE).tier
        for p in ("cost", "balanced", "quality")
    ]
    assert tiers == sorted(tiers)  # cost <= balanced <= quality
    quality = router.route(RoutingRequest(auto_routing=True, preference="quality"), BORDERLINE)
    assert quality.preference == "quality" and "quality preference" in quality.reason


def test_short_but_hard_and_long_but_easy(router: Router) -> None:
    proof = router.route(
        RoutingRequest(auto_routing=True), [Message("user", "Prove that sqrt(2) is irrational.")]
    )
    assert proof.tier == 3 and proof.signals and proof.probabilities
    chatty = (
        "Good morning! Our small group has been meeting on Tuesdays for three years now and we "
        "finally finished Paul's letters last week, which was a real joy for everyone involved. "
        "Quick one before tonight: how many chapters does Philemon have?"
    )
    assert router.route(RoutingRequest(auto_routing=True), [Message("user", chatty)]).tier == 1


def test_models_whose_window_cannot_hold_the_request_are_ruled_out(router: Router) -> None:
    roomy = router.route(RoutingRequest(auto_routing=True, prompt_tokens=100), SIMPLE)
    assert roomy.model.id == "small-open"
    big = router.route(
        RoutingRequest(auto_routing=True, prompt_tokens=20_000, output_tokens=500), SIMPLE
    )
    assert big.model.context_window >= 20_500 and big.model.id != "small-open"
    with pytest.raises(ContextTooLong, match="tokens of context"):
        router.route(RoutingRequest(auto_routing=True, prompt_tokens=10**9), SIMPLE)
