from emmaus.engine.analyser import analyse
from emmaus.engine.types import Message


def _ask(text: str, history: int = 0) -> Message:
    return Message("user", text)


def test_greeting_is_tier_1_with_confidence() -> None:
    result = analyse([Message("user", "Hello!")])
    assert result.tier == 1
    assert 0.5 <= result.confidence <= 1
    assert "greeting" in result.reason


def test_deep_theological_reasoning_is_tier_3() -> None:
    text = (
        "Compare the Reformed and Arminian views of predestination and justification, explain "
        "the exegesis of Romans 9 each relies on, and evaluate the implications for assurance "
        "of salvation. Walk me through it step by step."
    )
    result = analyse([Message("user", text)])
    assert result.tier == 3
    assert "theological depth" in result.reason
    assert "reasoning cues" in result.reason


def test_code_question_leaves_tier_1() -> None:
    text = "Why does this function return None?\n```python\ndef f(x):\n    x + 1\n```"
    assert analyse([Message("user", text)]).tier >= 2


def test_only_the_newest_user_turn_is_scored() -> None:
    deep = "Explain and compare the exegesis of the atonement in Hebrew and Greek sources."
    messages = [Message("user", deep), Message("assistant", "..."), Message("user", "thanks")]
    assert analyse(messages).tier == 1


def test_long_conversations_raise_the_score() -> None:
    short = analyse([Message("user", "What does grace mean?")])
    history = [Message("user" if i % 2 == 0 else "assistant", "ok") for i in range(20)]
    long = analyse([*history, Message("user", "What does grace mean?")])
    assert long.score > short.score
    assert "long conversation" in long.reason


def test_no_user_turn_is_tier_1() -> None:
    result = analyse([Message("system", "be brief")])
    assert result.tier == 1
    assert result.reason.startswith("tier_1")
