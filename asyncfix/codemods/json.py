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
        "or use a faster encoder (orjson). Beware: the stdlib json C encoder and scanner hold the "
        "GIL for their whole run, so a thread alone does not shorten the stall of a huge "
        "`json.dumps`/`json.loads` without `indent`; `indent=` uses the pure-Python encoder, which "
        "yields every 5 ms.",
        fix_safety="Safe for behaviour (same output, same exceptions). The loop's worst stall is "
        "only shortened where the encoder lets go of the GIL; the rewrite notes say so.",
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
