"""The request rules of `patterns`: explicit asks for self-harm methods, weapons, drugs and
sexual content with minors. Same (category, anchors, rule) form as `crisis_rules`; framing guards
("for my novel") do not apply to these."""

from __future__ import annotations

REQUEST_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "self_harm_instructions",
        "lethal fatal deadly",
        r"\b(?:lethal|fatal|deadly) (?:dose|amount) (?:of|for)\b",
    ),
    (
        "self_harm_instructions",
        "much many",
        r"\bhow (?:much|many) [\w ]{0,40}? (?:to|would|will|could) "
        r"(?:kill (?:me|myself|you|a person)|be (?:lethal|fatal|enough to die)|die|"
        r"never wake up|overdose)\b",
    ),
    (
        "self_harm_instructions",
        "way ways method methods",
        r"\b(?:painless|painlessly|quickest|easiest|surest|fastest|best|most reliable) "
        r"(?:way|method)s? (?:to|of) "
        r"(?:die|dying|kill myself|end it|end my life|commit suicide|suicide)\b",
    ),
    (
        "self_harm_instructions",
        "scars marks",
        r"\bself harm without (?:leaving )?(?:scars|marks)\b",
    ),
    (
        "self_harm_instructions",
        "hide",
        r"\bhide (?:the |my )?(?:cuts|scars|self harm|burn marks|marks on my)\b",
    ),
    (
        "self_harm_instructions",
        "method",
        r"\b(?:which|what) (?:suicide )?method (?:of suicide )?(?:has|is|works)\b",
    ),
    (
        "self_harm_instructions",
        "survive",
        r"\b(?:tall|high) enough (?:that|so|to) (?:you|i|someone) (?:definitely )?(?:wouldnt|wont|"
        r"dont|would not|will not) survive\b",
    ),
    (
        "violence_instructions",
        "bomb ied explosive molotov napalm grenade detonator",
        r"\bhow (?:do|can|would|to|could) (?:i |you |someone |one )?(?:make|build|assemble|"
        r"construct) (?:a |an )?(?:pipe bomb|bomb|ied|explosive|molotov|napalm|grenade|"
        r"detonator)\b",
    ),
    (
        "violence_instructions",
        "sarin ricin vx nerve mustard chlorine anthrax botulinum",
        r"\b(?:synthesis|synthesize|recipe|instructions|steps|make|extract|produce)\w* (?:route )?"
        r"(?:for |of )?(?:sarin|ricin|vx|nerve agent|mustard gas|chlorine gas|anthrax|botulinum)\b",
    ),
    (
        "violence_instructions",
        "poison kill hurt strangle smother",
        r"\b(?:poison|kill|hurt|strangle|smother) (?:someone|a person|my \w+|him|her) (?:so it|"
        r"without) (?:looks like|leaving|leave|anyone|getting|doesnt)\b",
    ),
    (
        "illicit",
        "meth methamphetamine fentanyl crack heroin mdma lsd dmt",
        r"\bhow (?:do|can|to|would) (?:i |you )?(?:cook|make|synthesize|produce) (?:meth|"
        r"methamphetamine|fentanyl|crack|heroin|mdma|lsd|dmt)\b",
    ),
    ("illicit", "launder laundering", r"\b(?:launder|laundering) (?:money|cash|the money)\b"),
    (
        "sexual_minors",
        "sexy sexual nude naked steamy explicit erotic spicy",
        r"\b(?:sexy|sexual|nude|naked|steamy|explicit|erotic|spicy) \w* ?(?:\w+ )?(?:with|of|about|"
        r"involving) (?:a |an |my )?(?:\d{1,2} year old|child|minor|kid|preteen|underage)\b",
    ),
)
