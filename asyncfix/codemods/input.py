"""input: reading the terminal on the loop."""

from asyncfix.catalog import Category, Doc, Rule

CATEGORY = Category(
    name="input",
    section="-",
    title="Blocking terminal input",
    doc=Doc(
        what="Flags the builtin `input()` inside `async def`.",
        why="`input()` waits for a person to type: the loop stops until they press Enter.",
        example="async def confirm():\n"
        "    return input('Proceed? ') == 'y'",
        instead="`await asyncio.to_thread(input, 'Proceed? ')`, or read stdin with an asyncio "
        "`StreamReader`.",
        fix_safety="Safe: the same prompt and result from a worker thread.",
    ),
    rules=(
        Rule(code="AF601", message="`{name}` waits for terminal input on the event loop",
             functions=("input",), upstream=("ASYNC250",)),
    ),
)
