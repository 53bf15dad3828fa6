"""The fast path's trigger finder against a regex alternation of the same words and chains:
found from each head word with `str.find`, it must report exactly where the regex matches."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncfix.engine.triggers import ANY, DOT, Finder, Mentions, _not_the_builtin

WORDS = ["open", "input", "client", "get"]
DOTTED = {"os": frozenset({"remove", "path"}), "np": frozenset({"load"})}
CHAINS = [("app", frozenset({"state"}), frozenset({"conv"})), ("Cache", ANY, DOT)]
FINDER = Finder.of(WORDS, DOTTED, CHAINS)

# Whole names: no word character before, a word boundary after; the class chain `Cache.<any>.`
# is searched without the boundary after its dot (the finder asks no more).
_BOUNDED = re.compile(r"(?<!\w)(?:" + "|".join(
    [*WORDS,
     *(rf"{local}\s*\.\s*(?:{'|'.join(sorted(names))})" for local, names in DOTTED.items()),
     r"app\s*\.\s*state\s*\.\s*conv"]) + r")\b")
_CLASS_CHAIN = re.compile(r"(?<!\w)Cache\s*\.\s*\w+\s*\.")

TOKENS = ["open", "input", "reopen", "client", "clients", "get", "os", "pos", "np", "remove",
          "removed", "path", "load", "app", "state", "conv", "Cache", "conn", "exec", ".", " . ",
          " ", "\n", "(", ")", "=", ":", ",", "_", "x", "é", "#", '"']


def reference(text: str) -> list[int]:
    out = []
    for at in range(len(text)):
        found = _BOUNDED.match(text, at)
        if found is not None:
            if found.group() in ("open", "input") and _not_the_builtin(text, at, found.end(), len(text)):
                continue
            out.append(at)
        elif _CLASS_CHAIN.match(text, at):
            out.append(at)
    return out


@settings(max_examples=400, derandomize=True, database=None, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join))
def test_finder_matches_where_the_regex_does(text):
    assert FINDER.starts(text) == reference(text)


def test_examples():
    assert FINDER.starts("x = os.path.join(a)") == [4]
    assert FINDER.starts("pos.remove(1); os . removed; self.os.remove(2)") == [34]
    assert FINDER.starts("f = open(p)\nself.open(p)\nreopen(p)\nopen_file = 1") == [4]
    assert FINDER.starts("app.state.conv.run()\napp.state.other") == [0]
    assert FINDER.starts("Cache.conn.execute(q)\nCache.name") == [0]
    assert FINDER.starts("np.\n    load(p)") == [0]  # across a line break, as inside brackets


def test_search_is_confined_to_the_range():
    text = "a = client\nb = other\n"
    assert FINDER.search(text, 0, 10) and not FINDER.search(text, 11, len(text))
    assert FINDER.search(text, 0, 8) is False  # `cli` is not `client`


def test_mentions_answer_ranges_and_take_the_module_s_own_objects():
    text = "import os\n\ndef a():\n    conv.run()\n\ndef b():\n    os.remove(p)\n"
    mentions = Mentions(text, Finder.of((), DOTTED))
    a, b = text.index("def a"), text.index("def b")
    assert not mentions.within(a, b) and mentions.within(b, len(text))
    mentions.add(Finder.of(["conv"]))
    assert mentions.within(a, b) and mentions.within(b, len(text))
