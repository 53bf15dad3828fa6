"""The form a moved json call takes (gil-and-offloading.md): a thread frees the loop only while
the work lets go of the GIL, and the stdlib json C encoder (`dumps` without `indent`) and C
scanner (`loads`, `load`) hold it for their whole run, so in a thread they stall the loop as
long as inline. Each moved call gets the form that keeps its output and frees the loop:

- `json.dumps(o, ...)` -> `_json_dumps_fair(o, ...)`: the stdlib's pure-Python encoder (the one
  `json.dump` and `indent=` already use), written to a StringIO: the same text, and the loop gets
  a turn every switch interval;
- `json.loads(s, ...)` -> `_json_loads_fair(s, ...)`, `json.load(f, ...)` ->
  `_json_loads_fair(f.read(), ...)`: the stdlib decoder with its pure-Python scanner: the same
  objects and errors, ~5x slower, the loop free;
- with orjson (`--json orjson`, or the project depends on it): `json.dumps`/`json.dump` whose
  output orjson reproduces (`ensure_ascii=False`; compact separators, or `indent=2`; `sort_keys`)
  -> `orjson.dumps(o, option=...).decode()`, ~8x faster; others keep the stdlib forms.
  orjson's parser is not used: it builds the objects holding the GIL (127 ms of stall for a
  15 MB checkpoint, against 13 ms for the pure-Python scanner; `benchmarks/json_lag.py`).

`json.dump` (already pure Python) moves as it is. The figures below: the worst loop lag per MB
of a 15 MB checkpoint in a thread, measured by `benchmarks/json_lag.py` (2 cores); the fair
forms' lag does not grow with the size: it is the switch interval's, 10-15 ms.
"""

from __future__ import annotations

import ast
import re

STALL_MS_PER_MB = {"thread dumps": 31, "thread loads": 18, "orjson dumps": 3.7, "orjson loads": 8.5}
FAIR_LAG_MS = "10-15"

LOADS_FAIR = '''\
def _json_loads_fair(s, **kw):
    """json's loads with the stdlib's pure-Python scanner: the C one holds the GIL for the whole
    parse, stalling the event loop from a thread as much as inline (asyncfix)."""
    if isinstance(s, (bytes, bytearray)):
        s = s.decode(json.detect_encoding(s), "surrogatepass")
    elif isinstance(s, str) and s.startswith("\\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", s, 0)
    decoder = (kw.pop("cls", None) or json.JSONDecoder)(**kw)
    decoder.scan_once = json.scanner.py_make_scanner(decoder)
    return decoder.decode(s)
'''
DUMPS_FAIR = '''\
def _json_dumps_fair(obj, **kw):
    """json's dumps with the stdlib's pure-Python encoder, the one its dump uses: the C one
    holds the GIL for the whole encoding, stalling the event loop from a thread (asyncfix)."""
    out = io.StringIO()
    for chunk in (kw.pop("cls", None) or json.JSONEncoder)(**kw).iterencode(obj):
        out.write(chunk)
    return out.getvalue()
'''
HELPERS = {"_json_loads_fair": (LOADS_FAIR, {"json"}), "_json_dumps_fair": (DUMPS_FAIR, {"json", "io"})}

def spelled(source: str, name: str) -> str:
    """A helper's source for a module that binds json to ``name`` (`import json as j`)."""
    return source if name == "json" else re.sub(r"\bjson\.(?=[A-Za-z_])", f"{name}.", source)


_DUMPS_KEYWORDS = frozenset({"skipkeys", "ensure_ascii", "check_circular", "allow_nan", "cls", "indent",
                             "separators", "default", "sort_keys"})
_LOADS_KEYWORDS = frozenset({"cls", "object_hook", "parse_float", "parse_int", "parse_constant",
                             "object_pairs_hook", "strict"})


def form(call: ast.Call, name: str, segment, orjson: bool) -> tuple[str, str, str | None] | None:
    """(replacement text of ``call``, its note, the module helper it needs) for a moved json
    call; None: it moves as it is. ``segment(node)``: a node's source text."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None  # `*args`/`**kw`: what it passes is not known here
    keywords = {k.arg: k.value for k in call.keywords}
    if name == "json.dumps" and len(call.args) == 1 and set(keywords) <= _DUMPS_KEYWORDS:
        if orjson and (spelled := _orjson(call, keywords, segment)):
            return spelled, NOTE_ORJSON, None
        if _literal(keywords.get("indent")) is not None:
            return None  # `indent=`: the pure-Python encoder already
        return _call("_json_dumps_fair", call, segment), NOTE_FAIR_DUMPS, "_json_dumps_fair"
    if name == "json.dump" and len(call.args) == 2 and set(keywords) <= _DUMPS_KEYWORDS and orjson:
        spelled = _orjson(ast.Call(call.func, call.args[:1], call.keywords), keywords, segment)
        if spelled:
            return f"{_receiver(call.args[1], segment)}.write({spelled})", NOTE_ORJSON, None
        return None
    if name == "json.loads" and len(call.args) == 1 and set(keywords) <= _LOADS_KEYWORDS:
        return _call("_json_loads_fair", call, segment), NOTE_FAIR_LOADS, "_json_loads_fair"
    if name == "json.load" and len(call.args) == 1 and set(keywords) <= _LOADS_KEYWORDS:
        source = f"{_receiver(call.args[0], segment)}.read()"
        rest = "".join(f", {k.arg}={segment(k.value)}" for k in call.keywords)
        return f"_json_loads_fair({source}{rest})", NOTE_FAIR_LOADS, "_json_loads_fair"
    return None


NOTE_FAIR_DUMPS = (f"json.dumps runs with the stdlib's pure-Python encoder (same text): in a thread the C "
                   f"encoder stalls the loop as long as inline (~{STALL_MS_PER_MB['thread dumps']} ms per "
                   f"MB), this one {FAIR_LAG_MS} ms at any size, taking ~2x as long")
NOTE_FAIR_LOADS = (f"json parsing runs with the stdlib's pure-Python scanner (same objects, same errors): "
                   f"in a thread the C scanner stalls the loop as long as inline (~{STALL_MS_PER_MB['thread loads']} "
                   f"ms per MB), this one {FAIR_LAG_MS} ms at any size, taking ~5x as long")
NOTE_ORJSON = (f"serialised with orjson (~{STALL_MS_PER_MB['orjson dumps']} ms of loop stall per MB, ~8x "
               "faster, the same text for these options) but for: integers beyond 64 bits (orjson "
               "raises), NaN and Infinity (written as null) and small floats' exponents (1e-7, json "
               "wrote 1e-07)")


def _orjson(call: ast.Call, keywords: dict, segment) -> str | None:
    """`orjson.dumps(...).decode()` giving the text json would, or None."""
    if _literal(keywords.get("ensure_ascii")) is not False:
        return None  # json escapes non-ASCII by default; orjson cannot
    if any(k in keywords for k in ("skipkeys", "cls", "check_circular", "allow_nan")):
        return None
    indent = _literal(keywords.get("indent"))
    separators = _literal(keywords.get("separators"))
    options = ["orjson.OPT_NON_STR_KEYS"]  # json turns int, float, bool and None keys into strings
    if indent is None and "indent" not in keywords:
        if separators != (",", ":"):
            return None  # json's default separators put spaces where orjson puts none
    elif indent == 2 and separators in (None, (",", ": ")):
        options.append("orjson.OPT_INDENT_2")
    else:
        return None
    sort = keywords.get("sort_keys")
    if sort is not None:
        if _literal(sort) is True:
            options.append("orjson.OPT_SORT_KEYS")
        elif _literal(sort) is not False:
            return None
    default = f", default={segment(keywords['default'])}" if "default" in keywords else ""
    return f"orjson.dumps({segment(call.args[0])}{default}, option={' | '.join(options)}).decode()"


def _call(helper: str, call: ast.Call, segment) -> str:
    args = [segment(a) for a in call.args] + [f"{k.arg}={segment(k.value)}" for k in call.keywords]
    return f"{helper}({', '.join(args)})"


def _receiver(node: ast.expr, segment) -> str:
    text = segment(node)
    return text if isinstance(node, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)) else f"({text})"


def _literal(node):
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError):
        return _NOT_LITERAL


_NOT_LITERAL = object()
