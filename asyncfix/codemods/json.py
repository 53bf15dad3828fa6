"""json: serialising large objects on the loop (checklist 1.1C)."""

from asyncfix.catalog import Category, Doc, Rule

CATEGORY = Category(
    name="json",
    section="1.1C",
    title="JSON serialization of large objects",
    doc=Doc(
        what="Flags `json.dump`, `json.dumps`, `json.load`, `json.loads` and pydantic's "
        "`model_dump_json` / `model_validate_json` inside `async def`. A literal argument "
        "(`json.dumps({\"ok\": True})`) is too small to matter and is not reported.",
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
        ),
        Rule(
            code="AF122",
            message="`{name}` serialises a pydantic model to or from JSON on the event loop",
            method_names=("model_dump_json", "model_validate_json"),
            skip_literal_args=True,
        ),
    ),
)
