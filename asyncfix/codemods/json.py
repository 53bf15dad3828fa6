"""json: serialising large objects on the loop (checklist 1.1C)."""

from asyncfix.catalog import Category, Doc, Rule

CATEGORY = Category(
    name="json",
    section="1.1C",
    title="JSON serialization of large objects",
    doc=Doc(
        what="Flags `json.dump`, `json.dumps`, `json.load`, `json.loads` and pydantic's "
        "`model_dump_json` / `model_validate_json` inside `async def` where there is evidence of a "
        "big payload: most calls encode a handful of keys, and a thread hop costs more than they "
        "do. Reported by default (AF121, AF122), the message ending with the evidence:\n"
        "- reads or writes a file object: `json.dump`, `json.load`\n"
        "- `indent=` on a non-literal\n"
        "- parses what was read from a file, a response or a request body: `f.read()`, "
        "`path.read_text()`, `resp.text`, `resp.content`, `await request.body()`, the lines of a "
        "file (`for line in f`), or a local holding one\n"
        "- parses a `bytes` parameter\n"
        "- serialises a whole document: a Docling document, `export_to_dict()`, a name such as "
        "`document`, `doc` or `checkpoint` (not `doc_id`)\n"
        "- serialises a collection built in a loop: appended to or assigned into in a loop, or a "
        "comprehension\n"
        "- serialises what was read or parsed from a file, a response or a request body "
        "(`resp.json()`, a `json.load` result)\n"
        "- its result is written to a file: `f.write(json.dumps(x))`, `path.write_text(...)`, "
        "`to_thread(_write_sync, p, json.dumps(x))`, or a local later written\n"
        "Everything else (dict literals of scalars, f-strings, `str(e)`, small request bodies, "
        "ids, a log line ending in a newline) is AF123, off by default: select it to see every "
        "call. A literal argument (`json.dumps({\"ok\": True})`) is too small to matter and is "
        "never reported.",
        why="Checkpoints of 10 MB take 100-500 ms to encode or parse, all of it on the loop.",
        example="async def save_checkpoint(data: dict, path: str):\n"
        "    with open(path, 'w') as f:\n"
        "        json.dump(data, f, indent=2)",
        instead="Serialise and write in a module-level sync helper run with `asyncio.to_thread`, "
        "and mind the GIL: the stdlib json C encoder (`dumps` without `indent`) and C scanner "
        "(`loads`, `load`) hold it for their whole run, so from a thread they stall the loop as "
        "long as inline. Worst loop lag of a 15 MB checkpoint, 2 cores (`benchmarks/json_lag.py`): "
        "save 556 ms inline, 459 ms as `json.dumps` in a thread, 15 ms with the stdlib's "
        "pure-Python encoder in a thread, 56 ms with orjson in a thread, 97 ms in a process pool "
        "(pickling the data); load 220 ms inline, 277 ms as `json.loads` in a thread, 13 ms with the "
        "pure-Python scanner, 127 ms with orjson (it builds the objects holding the GIL), 94 ms "
        "in a process pool. Per MB: ~31 ms (C encoder), ~18 ms (C scanner), ~3.7 ms (orjson "
        "dumps), ~8.5 ms (orjson loads); the pure-Python forms stay at 10-15 ms whatever the size, "
        "taking 2-5x as long.",
        fix_safety="Safe for behaviour with the stdlib forms (same text, same objects, same "
        "exceptions): a moved `json.dumps` runs the stdlib's pure-Python encoder "
        "(`_json_dumps_fair`), a moved `json.loads`/`json.load` its pure-Python scanner "
        "(`_json_loads_fair`), both added to the module once; `json.dump` and `indent=` calls are "
        "pure Python already. With orjson (`--json orjson`, or the project depends on it) a "
        "`json.dumps`/`json.dump` moved in a helper becomes `orjson.dumps(..., option=...).decode()` "
        "only where orjson writes the same text: `ensure_ascii=False` (json escapes non-ASCII by "
        "default, orjson cannot), compact separators or `indent=2`, `sort_keys` as "
        "`OPT_SORT_KEYS`, `default=` kept; `cls`, `skipkeys`, `check_circular`, `allow_nan` keep "
        "the stdlib form. What orjson still writes differently, named in the change's notes: "
        "integers beyond 64 bits (orjson raises), NaN and Infinity (null), small floats' exponents "
        "(1e-7 where json wrote 1e-07). orjson's parser is never used: it stalls the loop longer "
        "than the pure-Python scanner.",
        imports="import json",
    ),
    rules=(
        Rule(
            code="AF121",
            message="`{name}` serialises JSON on the event loop",
            functions=("json.dump", "json.dumps", "json.load", "json.loads"),
            skip_literal_args=True,
            weak_code="AF123",
        ),
        Rule(
            code="AF122",
            message="`{name}` serialises a pydantic model to or from JSON on the event loop",
            method_names=("model_dump_json", "model_validate_json"),
            skip_literal_args=True,
            weak_code="AF123",
        ),
        Rule(
            # Off by default (like ruff's preview rules): the calls above without evidence of size.
            code="AF123",
            message="`{name}` serialises JSON on the event loop (no evidence of a big payload; "
            "off by default)",
            default=False,
        ),
    ),
)
