"""A small labelled set for retrieval quality over the demo library (KJV, default books).

The questions are ours, written as a reader would ask them (mostly paraphrases, a few well-known
phrases); each names the chapters that answer it. `NEGATIVES` are off-topic questions that should
get no sources at all once the relevance floor applies.
"""

from __future__ import annotations

LABELLED: list[tuple[str, set[str]]] = [
    ("how was the world created in six days", {"Genesis 1", "Genesis 2"}),
    ("Noah builds an ark before the great flood", {"Genesis 6", "Genesis 7"}),
    ("why did people start speaking different languages at the tower", {"Genesis 11"}),
    ("Abraham is asked to sacrifice his son Isaac on a mountain", {"Genesis 22"}),
    ("Jacob dreams of a ladder with angels going up to heaven", {"Genesis 28"}),
    ("Joseph's brothers sell him into slavery in Egypt", {"Genesis 37"}),
    ("Pharaoh dreams of fat and thin cows and seven years of famine", {"Genesis 41"}),
    ("Ruth refuses to leave her mother-in-law Naomi", {"Ruth 1"}),
    ("Boaz buys the field and marries Ruth", {"Ruth 4"}),
    ("the Lord is my shepherd", {"Psalms 23"}),
    ("a prayer of repentance asking God for a clean heart", {"Psalms 51"}),
    ("God is our refuge and strength in times of trouble", {"Psalms 46"}),
    ("where does wisdom and knowledge begin", {"Proverbs 1", "Proverbs 9"}),
    ("a virtuous wife is worth more than rubies", {"Proverbs 31"}),
    ("blessed are the meek and the poor in spirit", {"Matthew 5"}),
    ("how should we pray, our Father in heaven", {"Matthew 6"}),
    ("parable of the sower whose seed fell on stony ground", {"Matthew 13"}),
    ("Jesus walks on the sea and Peter begins to sink", {"Matthew 14"}),
    ("go and teach all nations, baptizing them", {"Matthew 28"}),
    ("in the beginning was the Word and the Word was God", {"John 1"}),
    ("water turned into wine at a wedding", {"John 2"}),
    ("Nicodemus comes at night and hears he must be born again", {"John 3"}),
    ("the good shepherd gives his life for the sheep", {"John 10"}),
    ("Lazarus is raised from the dead", {"John 11"}),
    ("being justified by faith we have peace with God", {"Romans 5"}),
    ("nothing can separate us from the love of God", {"Romans 8"}),
    ("love suffers long and is kind and never fails", {"1 Corinthians 13"}),
    ("the dead will be raised incorruptible at the last trumpet", {"1 Corinthians 15"}),
    ("faith without works is dead", {"James 2"}),
    ("the tongue is a small fire that can burn a whole forest", {"James 3"}),
]

NEGATIVES: list[str] = [
    "how do I configure a kubernetes ingress controller",
    "what is the capital gains tax rate for shares held over a year",
    "best settings for a sourdough oven at home",
    "how to replace the battery in a smartphone",
    "train timetable from Berlin to Munich on Sunday",
    "symptoms of vitamin D deficiency in adults",
    "how does a transistor amplify a signal",
    "rules of offside in football",
]
