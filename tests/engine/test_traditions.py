from emmaus.engine.traditions import TRADITIONS, apply_tradition, tradition_prompt
from emmaus.engine.types import Message


def test_every_tradition_has_a_distinct_layer() -> None:
    prompts = {tradition_prompt(t) for t in (*TRADITIONS, None)}
    assert len(prompts) == len(TRADITIONS) + 1
    assert "Catechism" in tradition_prompt("catholic")
    assert "broadly Christian" in tradition_prompt(None)


def test_caller_system_message_is_kept_after_the_layer() -> None:
    messages = [Message("system", "Answer in French."), Message("user", "Bonjour")]
    out = apply_tradition(messages, "evangelical")
    assert [m.role for m in out] == ["system", "user"]
    assert out[0].content is not None
    assert out[0].content.startswith(tradition_prompt("evangelical"))
    assert out[0].content.endswith("Answer in French.")
    assert messages[0].content == "Answer in French."  # input untouched


def test_layer_added_without_caller_system() -> None:
    out = apply_tradition([Message("user", "hi")], None)
    assert out[0].role == "system"
    assert out[1].content == "hi"
