"""The crisis rules of `patterns`: first-person phrasing of self-harm, abuse, threats to others
and medical emergencies. Each is (category, anchors, rule): the rule runs only on text containing
one of its anchor words, so at least one must occur in any text the rule matches
(`tests/engine/safety/test_patterns.py` checks that over a corpus)."""

from __future__ import annotations

_ME = (
    r"(?:i|im|ive|id|ill|i will|i would|i just|i really|i kind of|i kinda|i think i|i feel like i)"
)
_WANT = (
    r"(?:want to|wanted to|need to|going to|planning to|plan to|am going to|about to|ready to|"
    r"trying to|tried to|try to|thinking about|thinking of|think about|keep thinking about|"
    r"wish i could|should|could just|will|might|gonna)"
)
_SELF = (
    r"(?:kill myself|end my life|take my own life|take my life|end it all|hang myself|"
    r"hurt myself|cut myself|harm myself|self harm|shoot myself|not exist|not wake up|"
    r"disappear forever|stop existing|not be here anymore|commit suicide|kill me)"
)
_PERSON = (
    r"(?:husband|wife|boyfriend|girlfriend|partner|dad|father|mom|mum|mother|step dad|"
    r"step father|stepmom|step mom|uncle|aunt|brother|sister|cousin|grandpa|grandfather|parents|"
    r"ex|spouse|fiance|fiancee|coach|teacher|babysitter|pastor|priest|boss|roommate|son|"
    r"daughter|nephew|grandson|granddaughter|carer|caregiver|manager|leader|"
    r"mothers boyfriend|moms boyfriend|mums boyfriend|foster \w+)"
)
_HURTS = (
    r"(?:hits|beats|hurts|chokes|slaps|punches|kicks|rapes|raped|molests|molested|touches|"
    r"touched|abuses|abused|strangles|strangled|hit|beat|choked|slapped|punched|kicked|shoves|"
    r"shoved|pushes|pushed|burns|burned|locks|threatens to kill|threatened to kill|forces|"
    r"forced|is hurting|has been hurting|keeps hitting|keeps hurting|has been abusing|"
    r"is abusing|sexually abused|has been touching|keeps touching|is touching)"
)
_OTHERS = (
    r"(?:him|her|them|my \w+|everyone|everybody|people at \w+|those people|the people who|"
    r"all of them|my whole \w+|the kids at \w+|my classmates|my coworkers|that \w+)"
)
_HARM_VERB = r"(?:kill|shoot|stab|murder|strangle|hurt|poison|beat up|run over|torch|burn down)"
_MEANS = (
    r"(?:pills|tablets|meds|medication|medicines|gun|pistol|rifle|shotgun|revolver|rope|noose|"
    r"blade|razor|knife|belt|vial|insulin)"
)


CRISIS_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "self_harm",
        "myself life all harm exist wake forever existing anymore suicide kill",
        rf"\b{_ME} {_WANT} {_SELF}\b",
    ),
    ("self_harm", "die", rf"\b{_ME} (?:want|wanna|wish|need|am ready|im ready) to die\b"),
    (
        "self_harm",
        "dead born",
        r"\bi wish i (?:was|were) dead\b|\bi wish i (?:was|were) never born\b",
    ),
    (
        "self_harm",
        "suicidal",
        r"\bim (?:so |really |very |feeling |kind of |kinda |actually )*suicidal\b|"
        r"\bi feel (?:so |really |very )*suicidal\b|\bive been (?:feeling )?suicidal\b",
    ),
    (
        "self_harm",
        "thoughts",
        r"\b(?:im having|i have|ive had|ive been having|having) (?:suicidal|dark) thoughts\b",
    ),
    (
        "self_harm",
        "suicide killing ending",
        r"\bi (?:keep |have been |ve been )?(?:thinking|think) (?:about|of) (?:suicide|killing "
        r"myself|ending (?:it|my life))\b",
    ),
    (
        "self_harm",
        "better",
        r"\b(?:everyone|everybody|they|the world|my family|my kids|my wife|my husband) "
        r"(?:would be|is|will be|d be) better off (?:without me|if i (?:was|were) (?:dead|gone))\b",
    ),
    (
        "self_harm",
        "live alive here exist wake",
        # "live in this city", "live at home", "live near my parents": where, not whether.
        r"\bi (?:dont|no longer) want to (?:live(?! (?:in|at|near|on|there|with (?:my|him|her|"
        r"them|roommates?))\b)|be alive|be here(?! in)|exist|wake up)\b",
    ),
    (
        "self_harm",
        "reason nothing",
        r"\bno reason to (?:live|go on|keep going)\b|\bnothing (?:left )?to live for\b",
    ),
    (
        "self_harm",
        "cant cannot",
        r"\bi (?:cant|cannot) (?:go on|keep going|do this|keep living like this|live like this)"
        r"(?: anymore| any more)?\b",
    ),
    (
        "self_harm",
        "note",
        r"\bi (?:wrote|have written|am writing|im writing|left|finished) (?:a|my) (?:suicide |"
        r"goodbye )?note\b(?! (?:to|for) (?:my )?(?:pastor|teacher|boss|landlord|neighbor))",
    ),
    (
        "self_harm",
        "cutting burning hurting",
        r"\b(?:ive been|i keep|i started|started|i) (?:cutting|burning|hurting) (?:myself|again)\b",
    ),
    (
        "self_harm",
        "myself relapsed",
        r"\bi (?:cut|burned|burn|hurt|harmed) myself\b|\bi relapsed on self harm\b",
    ),
    (
        "self_harm",
        "tonight today tonights todays",
        # Not "tonight's the night" / "today is the day": said of proposals, launches, races.
        r"\b(?:tonight is|today is|tonights|todays) (?:goodbye|my last night|the last time)\b",
    ),
    ("self_harm", "goodbye last", r"\bthis is (?:goodbye|my last night|the last time)\b"),
    (
        "self_harm",
        "tonight today weekend tomorrow",
        r"\bim (?:going to|gonna) (?:end it|do it) (?:tonight|today|this weekend|tomorrow)\b",
    ),
    (
        "self_harm",
        "here around make",
        r"\bi (?:wont|will not|am not going to|im not going to|dont think ill) "
        r"(?:be here|be around|make it) "
        r"(?:much longer|next week|tomorrow|by|for|to|after|anymore)\b",
    ),
    (
        "self_harm",
        "here around",
        r"\bnot (?:going to|gonna) be (?:here|around) (?:much longer|for long|next week)\b",
    ),
    ("self_harm", "date", r"\b(?:already )?(?:picked|chosen|set) (?:the|a) date\b"),
    ("self_harm", "message", r"\b(?:my|this is my) last message (?:to anyone|to everyone|ever)\b"),
    (
        "self_harm",
        "world everyone forever",
        r"\b(?:goodbye|bye) (?:world|everyone|forever|cruel world)\b",
    ),
    (
        "self_harm",
        "gone dead die",
        r"\b(?:after|when|once) im gone\b|\bonce im dead\b|\bafter i die\b",
    ),
    (
        "self_harm",
        "away",
        r"\b(?:giving|gave|given) (?:away )?(?:all )?my (?:things|stuff|belongings|possessions) "
        r"away\b|\b(?:giving|gave|given) away (?:all )?(?:of )?my (?:things|stuff|belongings|"
        r"possessions)\b",
    ),
    (
        "self_harm",
        "saving collecting stockpiling hoarding hiding",
        rf"\b(?:ive been|been|im|i am|i have been|i keep|started) (?:saving|collecting|"
        rf"stockpiling|hoarding|hiding) (?:up )?(?:my |some |all |the |of )*\w* ?{_MEANS}\b",
    ),
    (
        "self_harm",
        "hand lap front next ready counted here",
        rf"\b(?:i have|ive got|i got|got) (?:the|my|a) {_MEANS} (?:in my hand|in my lap|"
        rf"in front of me|next to me|ready|counted|right here)\b",
    ),
    (
        "self_harm",
        "hand lap here counted",
        rf"\b{_MEANS} (?:is |are )?(?:in my hand|in my lap|right here|counted out)\b",
    ),
    (
        "self_harm",
        "standing sitting",
        r"\bim (?:standing|sitting) (?:on|at) (?:the|a) (?:edge|ledge|bridge|roof|tracks|cliff)\b",
    ),
    (
        "self_harm",
        "existing being",
        r"\bstop existing\b|\bstop being (?:everyones|a) (?:problem|burden)\b",
    ),
    (
        "self_harm",
        "burden",
        r"\bim (?:such )?a burden to (?:everyone|my family|my wife|my husband|my kids|them)\b",
    ),
    (
        "abuse",
        _HURTS.strip("(?:)").replace("|", " "),
        rf"\b(?:my|our) (?:\w+ )?{_PERSON} (?:\w+ )?{_HURTS} (?:me|us|my mom|my sister|my brother|"
        r"my kids)\b",
    ),
    (
        "abuse",
        _HURTS.strip("(?:)").replace("|", " "),
        rf"\b(?:he|she) (?:\w+ )?{_HURTS} me\b"
        r"(?! (?:in|at) (?:chess|tennis|games?|fortnite|a race))",
    ),
    (
        "abuse",
        "being getting",
        r"\bim (?:being|getting) (?:abused|beaten|hit|raped|molested|hurt|groomed)\b",
    ),
    (
        "abuse",
        "raped molested sexually abused",
        r"\bi (?:was|got|have been|ve been|am being) (?:raped|molested|sexually assaulted|"
        r"sexually abused|abused)\b",
    ),
    ("abuse", "afraid scared terrified", rf"\bim (?:afraid|scared|terrified) of my {_PERSON}\b"),
    (
        "abuse",
        "leave locks took",
        rf"\bmy {_PERSON} (?:\w+ )?(?:wont let me leave|locks me in|took my phone and|took my "
        r"passport)\b",
    ),
    (
        "abuse",
        "safe",
        r"\b(?:i|we) (?:dont|do not) feel safe (?:at home|in my house|with him|with her)\b",
    ),
    (
        "abuse",
        "kill",
        r"\b(?:he|she)s (?:going to|gonna) kill me\b|\b(?:he|she) (?:said|says) (?:hell|shell|he "
        r"will|she will|he would|she would) kill me\b",
    ),
    (
        "violence_threat",
        _HARM_VERB.strip("(?:)").replace("|", " "),
        rf"\b{_ME} (?:want to|going to|gonna|am going to|will|plan to|planning to|about to) "
        rf"{_HARM_VERB} {_OTHERS}\b",
    ),
    (
        "violence_threat",
        "gun rifle knife shotgun pistol",
        r"\b(?:bring|bringing|take|taking) (?:a|my|my dads|the) (?:gun|rifle|knife|shotgun|pistol) "
        r"to (?:school|work|class|church|the meeting)\b",
    ),
    (
        "violence_threat",
        "shoot shooting",
        r"\b(?:shoot|shooting) up (?:the|my|this) (?:school|office|work|class|church|mall)\b",
    ),
    (
        "violence_threat",
        "gun knife",
        r"\bi (?:bought|got|have) (?:a|the) (?:gun|knife) (?:and|to) (?:im|i will|kill|make)\b",
    ),
    (
        "medical_emergency",
        "breathe",
        r"\b(?:i|he|she|my \w+) (?:cant|can not) breathe\b(?! (?:thinking|when i think|because))",
    ),
    (
        "medical_emergency",
        "breathing unconscious unresponsive having",
        r"\b(?:im|i am|he is|hes|she is|shes|my \w+ is) (?:not breathing|unconscious|unresponsive|"
        r"having a (?:heart attack|stroke|seizure|allergic reaction))\b",
    ),
    (
        "medical_emergency",
        "breathing",
        r"\b(?:he|she|they|my \w+) (?:isnt|is not|stopped|has stopped) breathing\b",
    ),
    (
        "medical_emergency",
        "collapsed passed wake turning",
        r"\b(?:he|she|my \w+) (?:collapsed|passed out|wont wake up|is turning blue)\b",
    ),
    (
        "medical_emergency",
        "took swallowed ate drank",
        r"\b(?:i|he|she|my \w+) (?:just )?(?:took|swallowed|ate|drank) (?:a bunch of|a lot of|"
        r"too many|all (?:of )?(?:my|the|his|her)|a whole bottle of|\d+) (?:\w+ )?(?:pills|tablets|"
        r"sleeping pills|painkillers|tylenol|advil|bleach|batteries|antifreeze)\b",
    ),
    (
        "medical_emergency",
        "overdosed",
        r"\b(?:i|ive|he|she|my \w+) (?:just |have |has )?overdosed\b(?! on (?!pills|heroin|"
        r"fentanyl|my|his|her))",
    ),
    (
        "medical_emergency",
        "chest",
        r"\b(?:my|i have|i have a|having|severe) chest (?:pain|hurts|is tight)\b|"
        r"\bmy chest (?:hurts|is tight|feels tight)\b",
    ),
    (
        "medical_emergency",
        "bleeding blood",
        r"\b(?:bleeding|blood) (?:wont stop|everywhere|a lot|heavily)\b|"
        r"\bi cant stop the bleeding\b",
    ),
    ("medical_emergency", "throat", r"\b(?:my|his|her) throat is (?:closing|swelling)\b"),
)
