"""Word lists behind the cues. Phrases are comma-separated; a trailing '*' on a word expands to its
common inflections (debug* → debug, debugs, debugged, debugging, debugger...). Numbers are
written '#n' by the tokenizer, so '#n' matches any number."""

from __future__ import annotations

_SUFFIXES = ("", "s", "es", "ed", "d", "ing", "er", "ers", "ation", "ations", "ment", "ments",
             "ly", "al", "ally", "ion", "ions", "ive", "ies", "y")  # fmt: skip


def _phrases(spec: str) -> frozenset[str]:
    out: set[str] = set()
    for raw in spec.split(","):
        phrase = " ".join(raw.split()).lower()
        if not phrase:
            continue
        if phrase.endswith("*"):
            stem = phrase[:-1]
            out.update(stem + suffix for suffix in _SUFFIXES)
            if stem.endswith("e"):
                out.update(stem[:-1] + suffix for suffix in ("ing", "ed", "ion", "ions", "ation"))
            if stem.endswith("y"):
                out.update(stem[:-1] + suffix for suffix in ("ies", "ied", "ier"))
        else:
            out.add(phrase)
    return frozenset(out)


def _words(spec: str) -> frozenset[str]:
    return frozenset(w for p in _phrases(spec) for w in p.split())


NUMBER = (
    "#n, one, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen, "
    "fourteen, fifteen, twenty, thirty, forty, fifty, sixty, ninety, hundred, several, multiple"
)
PHRASES: dict[str, frozenset[str]] = {
    "number": _phrases(NUMBER),
    "long_deliverable": _phrases(
        "sermon*, homily, homilies, policy, policies, curriculum, curricula, devotional*, "
        "devotions, series, study guide*, bible study, bible studies, lesson plan*, syllabus, "
        "handbook*, manual*, guidelines, procedures, constitution, bylaws, strategy, strategies, "
        "proposal*, grant application, report*, essay*, paper*, article*, retreat*, program*, "
        "programme*, course*, plan*, schedule*, itinerary, training, workshop*, liturgy, "
        "liturgies, order of service, catechism*, framework*, roadmap*, budget*, reading plan*, "
        "code of conduct, safeguarding, charter, white paper, thesis, dissertation, book*, "
        "chapter outline, teaching series, discipleship pathway, onboarding, business plan*"
    ),
    "write_verb": _phrases(
        "write, draft, compose, create, prepare, develop, design, outline, produce, build, "
        "craft, generate, construct, put together, lay out, map out, come up with, plan"
    ),
    "length_demand": _phrases(
        "long, lengthy, detailed, comprehensive, thorough*, in depth, in-depth, full, complete, "
        "extensive, exhaustive, rigorous*, step by step, several pages, multi page, multi part, "
        "#n words, #n pages, all the, every"
    ),
    "brevity": _phrases(
        "short, brief*, quick*, one sentence, one line, one word, few words, simple, simply, "
        "in a nutshell, tldr, just tell me, only need, just the, yes or no, short answer, "
        "one word answer, keep it short"
    ),
    "structure": _phrases(
        "week by week, day by day, session by session, each week, each day, each session, "
        "each lesson, each section, each module, each unit, each part, for each, timeline, "
        "milestones, learning objectives, objectives, assessment*, rubric*, responsibilities, "
        "phases, modules, sections, agenda, deliverables, action items, include, including, "
        "with sections, outline, table of contents, structure*"
    ),
    "code_lang": _phrases(
        "python, javascript, typescript, java, kotlin, swift, golang, go code, rust, ruby, php, "
        "perl, haskell, sql, postgres, postgresql, mysql, sqlite, html, css, json, yaml, "
        "regex, regexp, "
        "bash, zsh, powershell, cpp, csharp, dotnet, react, vue, angular, django, flask, fastapi, "
        "node, nodejs, npm, pip, pandas, numpy, docker, kubernetes, git, github, linux, "
        "excel formula, vba, api, sdk, cli, jquery, scala, elixir, lua, matlab, r code"
    ),
    "code_words": _phrases(
        "code, coding, script*, function*, method*, class, classes, variable*, array*, loop*, "
        "recursion, recursive, algorithm*, compile*, compiler, runtime, endpoint*, query, "
        "queries, database*, schema*, dataframe*, unit test*, bug*, program, programming, "
        "snippet*, parser*, pars* the, boolean, string*, integer*, null, undefined, syntax, "
        "repo, repository, deploy*, server*, backend, frontend, app, webhook*, spreadsheet "
        "formula, implement*, refactor*, big o, complexity, data structure*, linked list, "
        "binary tree, "
        "hash map, hashmap, cache, caching, quicksort, mergesort, binary search, sorting, "
        "concurren*, thread*, async, mutex, generic*, interface*, struct*, macro*, "
        "from scratch, cron, shortcode, plugin, regex, unit tests"
    ),
    "error_text": _phrases(
        "traceback, stack trace, stacktrace, exception*, error*, typeerror, valueerror, "
        "keyerror, indexerror, attributeerror, syntaxerror, nullpointerexception, segfault, "
        "segmentation fault, null pointer, undefined is not, cannot read, not defined, "
        "doesn't work, isn't working, not working, crash*, throw*, fail*, broken, keeps giving, "
        "keeps returning, wrong output, infinite loop, off by one"
    ),
    "debug": _phrases(
        "debug*, fix this, fix my, fix the, troubleshoot*, what's wrong, whats wrong, "
        "why does this, why is this, why doesn't, why won't"
    ),
    "proof": _phrases(
        "prove, proof, proofs, proving, show that, demonstrate that, derive, derivation, "
        "theorem, lemma, induction, irrational, by contradiction, formally, rigorous*, axiom*, "
        "q e d, qed, if and only if, iff"
    ),
    "math_terms": _phrases(
        "equation*, solve, integral*, integrate, derivative*, differentiate, probabilit*, "
        "expected value, matrix, matrices, eigenvalue*, limit, converge*, polynomial*, "
        "quadratic, logarithm*, combinatoric*, permutation*, combination*, modulo, prime*, "
        "factori*, calculus, algebra*, geometry, variance, standard deviation, "
        "regression, compound interest, amortiz*, amortis*, optimiz*, optimis*, recurrence, "
        "sequence*, puzzle*, riddle*, logic*, syllogism*, knights and knaves, paradox*, "
        "how many ways, minimum number, maximum number, diagonaliz*, determinant, vector*, "
        "inequalit*, real solutions, roots"
    ),
    "steps": _phrases(
        "step by step, step-by-step, show your work, show the work, show all steps, "
        "show your steps, each step, walk me through, work through, worked example, "
        "reasoning, explain your answer, justify"
    ),
    "original_language": _phrases(
        "greek, hebrew, aramaic, koine, septuagint, lxx, masoretic, mt, exegesis, exegetical, "
        "exegete, word study, original language, original languages, original text, lexical, "
        "lexicon, parse, parsing, aorist, perfect tense, imperfect, participle*, genitive, "
        "dative, accusative, vocative, hiphil, piel, niphal, qal, hithpael, textual variant*, "
        "manuscript*, bdag, halot, strong's, transliterat*, etymolog*, semantic range, "
        "syntax of, grammatical*, verb tense, middle voice, subjunctive, chiasm*, "
        "interlinear, nestle aland, na28, ubs5"
    ),
    "language_terms": _phrases(
        "agape, phileo, philia, eros, storge, logos, hesed, chesed, shalom, tetelestai, pistis, "
        "dikaiosune, hilasterion, kenosis, ruach, pneuma, sarx, ekklesia, koinonia, parakletos, "
        "paraclete, nephesh, tehom, bara, elohim, yhwh, adonai, kephale, monogenes, arrabon, "
        "metanoia, telos, charis, doulos, hamartia, sozo, soteria, kurios, christos, basileia, "
        "parousia, hupostasis, homoousios, theopneustos, zoe, psuche, nous, kardia, tsedaqah, "
        "mishpat, berith, kabod, qadosh, emunah, rhema, dunamis, apokalupsis, euangelion, "
        "makarios, proskuneo, baptizo, anothen, paraklesis, logizomai, dikaioo, hagios, "
        "teleios, epiousios, harpagmos, morphe, skandalon, mysterion, oikonomia"
    ),
    "deep_analysis": _phrases(
        "compare and contrast, contrast*, critically, critique*, evaluat*, assess*, analyz*, "
        "analys*, analysis, implications, nuance*, historical development, deep dive, "
        "scholarly, academic, systematic*, arguments for and against, argument for and against, "
        "strengths and weaknesses, perspectives, viewpoints, schools of thought, positions, "
        "debate*, interpretations, tradeoffs, trade offs, reconcile, synthesiz*, synthesis*, "
        "theories, theory of, break even, break-even, risks, scenarios, forecast*, "
        "projection*, model the, sensitivity, weigh, weigh up, weighing, historiography, "
        "across traditions, on both sides, steelman*"
    ),
    "traditions": _phrases(
        "reformed, catholic, catholicism, orthodox, arminian*, calvinis*, calvin, luther, "
        "lutheran*, wesleyan*, methodist*, anglican*, baptist*, pentecostal*, charismatic*, "
        "anabaptist*, dispensational*, covenantal, amillennial*, premillennial*, "
        "postmillennial*, preterist*, futurist*, molinis*, open theism, thomist*, "
        "augustinian*, pelagian*, jewish, rabbinic*, islamic, muslim*, hindu*, buddhist*, "
        "secular*, atheist*, protestant*, evangelical*, feminist*, liberation theology"
    ),
    "explain": _phrases(
        "explain*, why, how does, how do, how did, how can, how should, how would, describe, "
        "summariz*, summaris*, summary, overview, tell me about, difference between, "
        "differences, compare, comparison, versus, vs, pros and cons, help me understand, "
        "what happens, meaning behind, significance, relationship between, what role, "
        "background, context"
    ),
    "advice": _phrases(
        "advice, advise, suggest*, tip, tips, idea*, recommend*, should i, what should, "
        "how can i, how do i, how to, ways to, help me, any thoughts, what would you, "
        "encourag*, cope, deal with, struggling, i feel, i'm feeling, worried, anxious"
    ),
    "definition_words": _phrases(
        "define, definition, meaning of, what is meant by, stand for, stands for, abbreviation, "
        "acronym, synonym*, antonym*, spell, spelling, spelled, spelt, pronounce*, "
        "pronunciation, plural of, past tense of, opposite of, another word for"
    ),
    "followup": _phrases(
        "next step, next part, next one, next section, the rest, and then, what's next, "
        "after that, what about, how about, continue, go on, keep going, carry on, now do, "
        "now make, can you also, one more, do it for, change it, make it, add a, add an, "
        "instead, that part, this part, previous step, last step, it still, same error, "
        "still getting, still get, still fails, what if, and the, then what, part two, "
        "step two, step three, the next, same for, same thing, do the same, now the, "
        "next chapter, next week, parts, expand, shorter, longer, simpler, more formal, "
        "less formal, more casual, more heartfelt, tone, rephrase, reword, tweak, adjust, "
        "elaborate, go deeper, more detail, more details, of those, of these, which one, "
        "which of, any more, any others, another one, a version, other options"
    ),
    "gratitude": _phrases(
        "thank*, thanks, grateful, gratitude, appreciate*, went well, went over, worked out, "
        "helped me, you helped, helpful, huge help, big help, just wanted to let you know, "
        "wanted to say, you were right, figured it out, sorted it, all set, no need"
    ),
    "asks": _phrases(
        "can you, could you, would you, will you, please, i need, i want, help me, tell me, "
        "give me, show me, let me know, i'd like, i would like, i'm looking for, wondering, "
        "any idea, do you know, need to know"
    ),
    "conversion": _phrases(
        "convert*, in pounds, in kg, in kilograms, in celsius, in fahrenheit, in miles, in km, "
        "in kilometers, in minutes, in hours, in seconds, in feet, in meters, in inches, in cm, "
        "in ounces, in grams, in cups, in liters, in gallons, in dollars, in euros, to celsius, "
        "to fahrenheit, to pounds, to kg, to miles, to km, to minutes, to hours, to feet, "
        "to meters, to cups, to grams, to dollars, to euros, what time is it in"
    ),
    "arithmetic_words": _phrases(
        "divided by, times, multiplied by, plus, minus, percent of, per cent, "
        "how much is, what's #n, whats #n, what is #n, calculate, average of, sum of, total of, "
        "percentage, what percent, how much more, how many more, how much will, how much do, "
        "how many do we need, split evenly, per person, tip on, sales tax"
    ),
    "deictic": _phrases("it, this, that, these, those, above, previous, earlier, you said"),
}

WRITE_VERBS = _words(
    "write, draft, compose, create, prepare, develop, design, outline, produce, build, craft, "
    "generate, construct, plan, give, make, put, lay, map"
)
LONG_DELIVERABLES = _words(
    "sermon*, homily, homilies, policy, policies, curriculum, curricula, devotional*, devotions, "
    "series, guide, guides, plan*, syllabus, handbook*, manual*, guidelines, procedures, "
    "constitution, bylaws, strategy, strategies, proposal*, report*, essay*, paper*, article*, "
    "retreat*, program*, programme*, course*, schedule*, itinerary, training, workshop*, "
    "liturgy, catechism*, framework*, roadmap*, budget*, thesis, dissertation, book*, charter, "
    "studies, study, lessons, sessions, modules, talks, messages"
)
SHORT_DELIVERABLES = _words(
    "email*, e-mail, blessing*, prayer*, paragraph*, note*, letter*, toast*, caption*, poem*, "
    "haiku*, tweet*, post*, message, card*, invitation*, announcement*, bio*, slogan*, "
    "tagline*, text, reply, replies, intro, welcome, benediction*, invocation*, greeting*, "
    "condolence*, verse, limerick*, sentence*, summary, response"
)
UNITS = _words(
    "week*, day*, month*, session*, part*, lesson*, module*, step*, phase*, year*, unit*, "
    "chapter*, section*, point*, stage*, talk*, sermon*, devotional*, page*, quarter*"
)
FILLER = _words("so, and, but, ok, okay, also, quick, question, please, hey, hi, well, um, oh")
FACT_STARTS = _phrases(
    "how many, how much, how old, how long, how far, how tall, how big, who, whom, whose, when, "
    "where, which, what year, what day, what date, what time, in what, on what, in which, "
    "what is the name, what was the name, what's the name, what is the capital, "
    "what's the capital, what is the date, what is the population, what is the first, "
    "what is the last, what is the longest, what is the shortest, what is the largest, "
    "what is the oldest, what's the first, what's the last, what's the longest, "
    "what's the shortest, what is the number, name the, what color, what colour"
)
YES_NO = _words(
    "is, are, was, were, does, do, did, can, could, has, have, had, will, would, am, isn't, "
    "aren't, doesn't, didn't, wasn't, true"
)
REQUEST_VERBS = _words(
    "write, draft, compose, create, prepare, develop, design, outline, produce, build, craft, "
    "generate, give, list, make, plan, suggest, explain, summarize, summarise, translate, "
    "rewrite, edit, proofread, analyze, analyse, compare, prove, solve, calculate, compute, "
    "debug, fix, implement, refactor, walk, tell, describe, show, help, recommend, evaluate, "
    "critique, derive, convert, optimize, review"
)
REQUEST_PREFIXES = _phrases(
    "please, can you, could you, would you, will you, can u, i need you to, i'd like you to, "
    "i want you to, i need, i want, help me, please can you, could you please, can you please, "
    "i would like you to, go ahead and, now"
)
GREETINGS = _words(
    "hi, hello, hey, hiya, howdy, greetings, good, shalom, yo, morning, evening, afternoon"
)
GREETING_WORDS = _words(
    "hi, hello, hey, hiya, howdy, greetings, good, morning, afternoon, evening, day, shalom, yo, "
    "there, friend, everyone, all, again, emmaus, how, are, you, doing, today, it, going, "
    "how's, peace, be, with, and, to, nice, meet"
)
ACK_WORDS = _words(
    "thanks, thank, thx, ty, you, u, ok, okay, k, great, perfect, got, it, cool, awesome, nice, "
    "appreciate, appreciated, that, this, helps, helped, helpful, lot, much, so, very, sounds, "
    "good, will, do, yes, no, sure, alright, all, right, cheers, wonderful, amazing, brilliant, "
    "bless, god, blessings, excellent, understood, makes, sense, lol, haha, wow, fantastic, "
    "super, really, truly, kind, of, sir, friend, noted, gotcha, fine, yep, yeah, yup, nope, "
    "true, indeed, love, exactly, agreed, oh, ah, i, see, again, just, what, needed, was, the, "
    "beautiful, lovely, grateful, am, i'm, thankyou, tysm, many, for, your, help, answer, "
    "reply, a, and, well, done, works, worked, now, fixed, solved, clear, clearer, me"
)
