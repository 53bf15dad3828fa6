"""One blocking call awaited in a thread where it stands, keeping its bytes:

    json.dumps(obj,  # payload        ->   await asyncio.to_thread(json.dumps, obj,  # payload
               indent=2)                                            indent=2)

Only the text around the callee is generated; the arguments keep their text, comments included.
A one-line call whose line grows past the limit breaks inside the generated parentheses.
"""

from __future__ import annotations


def offloaded(thread: str, func: str, args: str, partial: str | None = None) -> str:
    """``await <thread>(<func>, <args>)``; ``partial``: wrap as `partial(func, args)` (run_sync
    takes no keyword arguments)."""
    if not args.strip():
        inner = func
    elif args[0] in "\r\n":
        inner = f"{func},{args}"
    else:
        inner = f"{func}, {args}"
    if partial:
        inner = f"{partial}({inner})"
    return f"await {thread}({inner})"


def wrapped(text: str, indent: str) -> str:
    """``await x(a, b)`` broken after its first parenthesis, for a line grown too long."""
    head, _, rest = text.partition("(")
    return f"{head}(\n{indent}    {rest[:-1]}\n{indent})"
