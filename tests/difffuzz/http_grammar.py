"""Small async programs that use `requests` the way real code does, for the differential fuzz of
the `requests -> httpx.AsyncClient` rewrite (tests/test_http_fuzz.py, benchmarks/fuzz_http.py).

Every program defines `async def main(base_url)`, talks only to the loopback server of
tests/http_server.py (and to a closed port, for connection errors), and returns plain data:
numbers, strings, bytes, lists, dicts. `main` ends in `except Exception as exc: return
["raised", _kind(exc), out]`, where `_kind` maps an exception to the kind of
tests/test_http_behaviour.py's table (`status`, `json`, `timeout`, `redirects`, `connect`,
`http`, else `other:<ClassName>`), so a requests error and its httpx twin compare equal. `_kind`
matches classes by their qualified names (a table of strings written into the program), so a
program imports nothing but the standard library and requests, and runs on its own.

What a program reads is what both libraries must agree on: the echo endpoint's `headers` are read
key by key (only the ones the program sets: the libraries' own User-Agent, Accept-Encoding...
differ by design), a `json=` body is compared after `json.loads` (httpx serialises compactly),
and the chunks of `iter_content()` without a size are compared joined (requests yields 1-byte
chunks there). Everything else is compared as it is.

    generate(seed)      one program from random.Random(seed) (the long run)
    programs()          the same grammar as a hypothesis strategy (tests)
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from tests.difffuzz.choice import Chooser, DrawChooser, RandomChooser

SLOW_MAX = 0.3  # seconds: the longest /slow the programs ask for


# -- the kinds of errors ------------------------------------------------------------------------
def _kind_table() -> list[tuple[str, tuple[str, ...]]]:
    """[(kind, qualified class names)], first match wins: tests/test_http_behaviour.py's KINDS."""
    try:
        from tests.test_http_behaviour import KINDS
    except Exception:  # noqa: BLE001 - its import needs pytest and the fixtures; the same table
        import httpx
        import requests

        KINDS = [
            ((requests.HTTPError, httpx.HTTPStatusError), "status"),
            ((json.JSONDecodeError, requests.exceptions.JSONDecodeError), "json"),
            ((requests.Timeout, httpx.TimeoutException), "timeout"),
            ((requests.TooManyRedirects, httpx.TooManyRedirects), "redirects"),
            ((requests.ConnectionError, httpx.ConnectError, httpx.NetworkError), "connect"),
            ((requests.RequestException, httpx.HTTPError), "http"),
        ]
    return [(name, tuple(sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)))
            for classes, name in KINDS]


KIND_TABLE = _kind_table()


def error_kind(exc: BaseException) -> str:
    """The kind a program's `_kind` gives `exc` (the same code, for the harness)."""
    names = {f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__}
    for name, classes in KIND_TABLE:
        if names.intersection(classes):
            return name
    return "other:" + type(exc).__name__


def _kind_source() -> str:
    rows = "".join(f"    ({name!r}, {classes!r}),\n" for name, classes in KIND_TABLE)
    return (
        "# The kinds of tests/test_http_behaviour.py, by qualified class name: a requests error\n"
        "# and its httpx twin are the same kind.\n"
        f"_KINDS = [\n{rows}]\n\n\n"
        "def _kind(exc):\n"
        '    names = {f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__}\n'
        "    for name, classes in _KINDS:\n"
        "        if names.intersection(classes):\n"
        "            return name\n"
        '    return "other:" + type(exc).__name__\n'
    )


# -- programs -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Program:
    text: str
    seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Program":
        return cls(**data)


def generate(seed: int) -> Program:
    """The long run's programs: one `random.Random` per seed, so a seed names its program."""
    return Program(build(RandomChooser(seed)).text, seed)


def programs():
    """The same grammar as a hypothesis strategy."""
    from hypothesis import strategies as st

    @st.composite
    def _programs(draw):
        return build(DrawChooser(draw))

    return _programs()


def build(ch: Chooser) -> Program:
    return HttpWriter(ch).program()


# Exception clauses: (text, needs `from requests.exceptions import ...`)
HANDLERS = (
    "requests.HTTPError", "requests.ConnectionError", "requests.Timeout", "requests.RequestException",
    "requests.exceptions.HTTPError", "requests.exceptions.ConnectionError", "requests.exceptions.Timeout",
    "requests.exceptions.ReadTimeout", "requests.exceptions.ConnectTimeout",
    "requests.exceptions.TooManyRedirects", "requests.TooManyRedirects",
    "requests.exceptions.RequestException", "requests.exceptions.JSONDecodeError",
    "requests.exceptions.ChunkedEncodingError", "requests.exceptions.InvalidURL",
    "OSError", "ValueError", "Exception", "json.JSONDecodeError", "KeyError",
)
BARE = ("HTTPError", "ConnectionError", "Timeout", "RequestException")  # from requests.exceptions
STATUS_CODES = (200, 201, 204, 301, 304, 400, 404, 418, 500, 503)
REDIRECTS = (0, 1, 2, 3, 29, 30, 31)
VERBS = ("get", "post", "put", "patch", "delete", "head", "options")


class Call:
    """One request expression and what its response may be read for."""

    def __init__(self, text: str, endpoint: str, method: str, stream: bool = False):
        self.text = text
        self.endpoint = endpoint  # "echo", "json", "status", "redirect", "slow", "stream", ...
        self.method = method  # upper case
        self.stream = stream


class HttpWriter:
    def __init__(self, ch: Chooser):
        self.ch = ch
        self.n = 0
        self.bare = ch.chance(0.15)  # `from requests.exceptions import HTTPError, ...`
        self.global_session = ch.chance(0.15)
        self.helpers: set[str] = set()  # summarize, fetch
        self.uses_json = False

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    # -- the module ----------------------------------------------------------------------------
    def program(self) -> Program:
        ch = self.ch
        second = None
        if ch.chance(0.3):
            second = self.coroutine("second", self.block(1, ch.integer(1, 3), in_second=True))
        body = self.block(2, ch.integer(1, 4))
        if second is not None:
            body += self.await_second()
        main = ("async def main(base_url):\n    out = []\n    try:\n"
                + indent(body, 2) + "    except Exception as exc:\n"
                "        return [\"raised\", _kind(exc), out]\n    return out\n")
        parts = [self.header(), _kind_source()]
        if "summarize" in self.helpers:
            parts.append("def summarize(r):\n    return [r.status_code, r.ok, r.headers.get(\"content-type\")]\n")
        if "fetch" in self.helpers:
            parts.append("async def fetch(url, **kwargs):\n    return requests.get(url, **kwargs)\n")
        if second is not None:
            parts.append(second)
        parts.append(main)
        return Program("\n\n".join(p.rstrip("\n") + "\n" for p in parts))

    def header(self) -> str:
        lines = ['"""A generated program for the http differential fuzz."""']
        lines += ["import json", "", "import requests"]
        if self.bare:
            lines.append("from requests.exceptions import ConnectionError, HTTPError, RequestException, Timeout")
        if self.global_session:
            lines += ["", "SESSION = requests.Session()", 'SESSION.headers["X-Global"] = "g"']
        return "\n".join(lines) + "\n"

    def coroutine(self, name: str, body: str) -> str:
        return f"async def {name}(base_url):\n    out = []\n" + indent(body, 1) + "    return out\n"

    def await_second(self) -> str:
        handlers = self.handlers(min_count=1)
        return ("try:\n    out.append(await second(base_url))\n" + handlers)

    # -- statements ----------------------------------------------------------------------------
    def block(self, depth: int, count: int, in_second: bool = False, session: str | None = None) -> str:
        return "".join(self.statement(depth, in_second, session) for _ in range(count))

    def statement(self, depth: int, in_second: bool, session: str | None) -> str:
        ch = self.ch
        options = [(8, "call"), (3, "inline"), (3, "stream"), (3, "session_with"), (2, "session_closed"),
                   (3, "try"), (2, "loop"), (2, "if"), (1, "helper"), (1, "fetch")]
        if self.global_session:
            options.append((2, "global"))
        if depth <= 0 or session is not None:
            keep = ("call", "inline", "stream", "helper") + (("try",) if depth > 0 else ())
            options = [(w, o) for w, o in options if o in keep]
        what = ch.weighted(options)
        receiver = session or "requests"
        if what == "call":
            return self.call_and_uses(receiver)
        if what == "inline":
            return self.inline(receiver)
        if what == "stream":
            return self.stream(receiver)
        if what == "session_with":
            return self.session_with(depth)
        if what == "session_closed":
            return self.session_closed(depth)
        if what == "global":
            return self.call_and_uses("SESSION")
        if what == "try":
            inner = self.block(depth - 1, ch.integer(1, 2), in_second, session)
            return "try:\n" + indent(inner, 1) + self.handlers()
        if what == "loop":
            return self.loop(receiver)
        if what == "if":
            return self.branch(depth, in_second, session)
        if what == "helper":
            self.helpers.add("summarize")
            call = self.call(receiver)
            r = self.fresh("r")
            return f"{r} = {call.text}\nout.append(summarize({r}))\n"
        if what == "fetch":
            self.helpers.add("fetch")
            r = self.fresh("r")
            url = self.url_for(ch.choice(("json", "status", "redirect", "echo", "text")))
            kw = ch.choice(("", ", timeout=5", ", allow_redirects=False", ", params={\"q\": \"1\"}"))
            call = Call(f"await fetch({url[0]}{kw})", url[1], "GET")
            return f"{r} = {call.text}\n" + self.emit_uses(r, call, 2)
        raise AssertionError(what)

    def call_and_uses(self, receiver: str) -> str:
        call = self.call(receiver)
        r = self.fresh("r")
        return f"{r} = {call.text}\n" + self.emit_uses(r, call, self.ch.integer(1, 3))

    def emit_uses(self, r: str, call: Call, count: int) -> str:
        return "".join(use[1:] + "\n" if use.startswith("!") else f"out.append({use})\n"
                       for use in self.uses(r, call, count))

    def inline(self, receiver: str) -> str:
        call = self.call(receiver)
        use = self.ch.choice(self.inline_uses(call))
        return f"out.append({call.text}{use})\n"

    def inline_uses(self, call: Call) -> list[str]:
        uses = [".status_code", ".ok", ".reason", ".headers.get(\"content-type\")"]
        if call.endpoint in ("json", "redirect"):
            uses += [".json()", ".json()[\"n\"]"]
        if call.endpoint == "echo":
            uses += [".json()[\"method\"]", ".json()[\"query\"]"]
            if "json=" not in call.text:  # a `json=` body's bytes differ by design (in the notes)
                uses.append(".json()[\"body\"]")
        if call.endpoint in ("text", "lines", "status", "json", "stream"):
            uses += [".text", ".content"]
        return uses

    def loop(self, receiver: str) -> str:
        ch = self.ch
        paths = ch.choice((
            '["/json", "/status/404", "/text"]', '["/status/200", "/status/500"]',
            '["/redirect/1", "/redirect/2"]', '["/lines", "/bad-json"]', '("/json", "/nope")',
            '["/status/204", "/status/301", "/status/418"]',
        ))
        p, r = self.fresh("path"), self.fresh("r")
        verb = ch.choice(("get", "get", "head", "post", "delete"))
        kws = self.keywords(verb, "loop", stream=False)
        call = f"{receiver}.{verb}(base_url + {p}{kws})"
        body = f"{r} = {call}\n"
        shape = ch.integer(0, 3)
        if shape == 0:
            body += f"out.append([{p}, {r}.status_code, {r}.ok])\n"
        elif shape == 1:
            body += f"if not {r}.ok:\n    out.append({r}.reason)\n    continue\nout.append({r}.text)\n"
        elif shape == 2:
            body += f"if {r}.status_code == 200:\n    out.append({r}.content)\nelse:\n    out.append([{r}.status_code, len({r}.history)])\n"
        else:
            body += (f"try:\n    {r}.raise_for_status()\n    out.append({r}.headers.get(\"content-type\"))\n"
                     + self.handlers(min_count=1, names=("requests.HTTPError", "requests.exceptions.HTTPError",
                                                         "requests.RequestException", "Exception")))
        return f"for {p} in {paths}:\n" + indent(body, 1)

    def branch(self, depth: int, in_second: bool, session: str | None) -> str:
        ch = self.ch
        receiver = session or "requests"
        call = self.call(receiver)
        r = self.fresh("r")
        test = ch.choice((f"{r}.ok", f"not {r}.ok", f"{r}.status_code == 200", f"{r}.ok == True",
                          f"{r}.status_code >= 400", f"{r}.is_redirect", f"{r}.status_code in (200, 201)"))
        out = f"{r} = {call.text}\nif {test}:\n" + indent(self.block(depth - 1, 1, in_second, session), 1)
        if ch.chance(0.5):
            out += f"elif {r}.status_code == 404:\n    out.append(\"missing\")\n"
        if ch.chance(0.7):
            other = "".join(f"out.append({u})\n" for u in self.uses(r, call, 1) if not u.startswith("!"))
            out += "else:\n" + indent(other or "out.append(None)\n", 1)
        return out

    # -- sessions --------------------------------------------------------------------------------
    def session_setup(self, s: str) -> str:
        ch = self.ch
        out = ""
        for _ in range(ch.integer(0, 2)):
            out += ch.choice((
                's.headers.update({"X-S": "1", "X-Trace": "abc"})\n',
                's.headers["X-S"] = "2"\n',
                's.auth = ("ana", "pw")\n',
                's.params = {"sp": "1"}\n',
                's.cookies.set("sid", "abc")\n',
                's.cookies.update({"sid": "xyz"})\n',
                's.max_redirects = 2\n',
            )).replace("s.", f"{s}.", 1)
        return out

    def session_with(self, depth: int) -> str:
        s = self.fresh("s")
        body = self.session_setup(s) + self.block(depth - 1, self.ch.integer(1, 3), session=s)
        return f"with requests.Session() as {s}:\n" + indent(body, 1)

    def session_closed(self, depth: int) -> str:
        s = self.fresh("s")
        body = self.session_setup(s) + self.block(depth - 1, self.ch.integer(1, 2), session=s)
        shape = self.ch.integer(0, 2)
        if shape == 0:
            return f"{s} = requests.Session()\n" + body + f"{s}.close()\n"
        if shape == 1:
            return f"{s} = requests.Session()\ntry:\n" + indent(body, 1) + f"finally:\n    {s}.close()\n"
        return f"{s} = requests.Session()\n" + body  # never closed: escapes the with-rewrite

    # -- streaming ------------------------------------------------------------------------------
    def stream(self, receiver: str) -> str:
        ch = self.ch
        endpoint = ch.choice(("stream", "stream", "lines", "json", "text", "status", "redirect"))
        url, endpoint = self.url_for(endpoint)
        kws = ""
        if ch.chance(0.3):
            kws += ch.choice((", timeout=5", ", timeout=(2, 5)", ", timeout=None"))
        if ch.chance(0.15):
            kws += ch.choice((", allow_redirects=False", ", allow_redirects=True"))
        if ch.chance(0.15):
            kws += ', headers={"X-A": "1"}'
        r = self.fresh("r")
        acc = self.fresh("acc")
        lines = ch.chance(0.4)
        body = ""
        if ch.chance(0.3):
            body += f"{r}.raise_for_status()\n"
        if ch.chance(0.4):
            body += f"out.append({r}.status_code)\n"
        if ch.chance(0.2):
            body += f"out.append({r}.headers.get(\"content-type\"))\n"
        item = self.fresh("line" if lines else "chunk")
        if lines:
            shape = ch.integer(0, 3)
            loop = f"for {item} in {r}.iter_lines():\n"
            if shape == 0:
                inner = f"if {item}:\n    {acc}.append({item}.decode())\n"
            elif shape == 1:
                inner = f"if not {item}:\n    continue\n{acc}.append({item}.decode(\"utf-8\"))\n"
            elif shape == 2:
                inner = f"{acc}.append({item}.decode())\n"
            else:
                inner = f"{acc}.append(len({item}))\n"  # bytes vs str: same length for ASCII
        else:
            size = ch.choice(("", "", "64", "1", "7", "chunk_size=5", "chunk_size=1024", "None",
                              "decode_unicode=True", "8, decode_unicode=True"))
            loop = f"for {item} in {r}.iter_content({size}):\n"
            # chunk boundaries are the network's (requests' `iter_content(n)` does not promise n
            # bytes a chunk): what is compared is the bytes, their total, or the chunks' types
            if "decode_unicode" in size:
                inner = f"if type({item}).__name__ not in {acc}:\n    {acc}.append(type({item}).__name__)\n"
            elif ch.chance(0.3):
                inner = f"{acc}.append(len({item}))\n"
            else:
                inner = f"{acc}.append({item})\n"
        tail = f"out.append({acc})\n"
        if not lines and "len(" in inner:
            tail = f"out.append(sum({acc}))\n"
        elif not lines and "type(" not in inner:
            tail = f"out.append(b\"\".join({acc}))\n"
        stmt = (f"{acc} = []\nwith {receiver}.get({url}, stream=True{kws}) as {r}:\n"
                + indent(body + loop + indent(inner, 1), 1) + tail)
        if ch.chance(0.15):  # not consumed in a loop: read whole
            stmt = (f"{r} = {receiver}.get({url}, stream=True{kws})\n"
                    f"out.append({ch.choice((f'{r}.content', f'{r}.text', f'{r}.status_code'))})\n")
        return stmt

    # -- one request -----------------------------------------------------------------------------
    def url_for(self, endpoint: str) -> tuple[str, str]:
        ch = self.ch
        if endpoint == "status":
            return f'f"{{base_url}}/status/{ch.choice(STATUS_CODES)}"', endpoint
        if endpoint == "redirect":
            n = ch.weighted([(6, ch.choice(REDIRECTS[:4])), (1, ch.choice(REDIRECTS[4:]))])
            return f'base_url + "/redirect/{n}"', endpoint
        if endpoint == "slow":
            s = ch.choice((0.05, 0.1, 0.2, SLOW_MAX))
            return f'base_url + "/slow?s={s}"', endpoint
        if endpoint == "stream":
            return f'base_url + "/stream?chunks={ch.integer(1, 4)}&size={ch.choice((1, 10, 100, 300))}"', endpoint
        if endpoint == "echo":
            return ch.choice(('base_url + "/echo"', 'f"{base_url}/echo"', 'base_url + "/echo?x=1"',
                              'base_url + "/echo?q=0&z="')), endpoint
        if endpoint == "closed":
            return 'base_url.rsplit(":", 1)[0] + ":9/json"', endpoint
        if endpoint == "bad-url":
            return ch.choice(('"htp://127.0.0.1/json"', '"/json"', '"http://"')), endpoint
        if endpoint == "missing":
            return 'base_url + "/nope"', endpoint
        return f'base_url + "/{endpoint}"', endpoint

    def call(self, receiver: str) -> Call:
        ch = self.ch
        endpoint = ch.weighted([(8, "echo"), (5, "json"), (5, "status"), (3, "redirect"), (1, "slow"),
                                (2, "text"), (2, "lines"), (2, "form"), (2, "bad-json"), (2, "closed"),
                                (1, "missing"), (1, "bad-url"), (1, "stream")])
        url, endpoint = self.url_for(endpoint)
        verb = ch.weighted([(6, "get"), (4, "post"), (1, "put"), (1, "patch"), (1, "delete"), (1, "head"),
                            (1, "options"), (2, "request")])
        if endpoint == "form":
            verb = ch.choice(("post", "put", "request"))
        method = verb.upper()
        first = url
        if verb == "request":
            method = ch.choice(("GET", "POST", "PUT", "HEAD", "DELETE"))
            literal = ch.choice((f'"{method}"', f'"{method.lower()}"'))
            first = ch.choice((f"{literal}, {url}", f"method={literal}, url={url}", f"{literal}, url={url}"))
        kws = self.keywords(verb if verb != "request" else method.lower(), endpoint, stream=False)
        if endpoint == "slow" and any(f"timeout={t}" in kws for t in ("0.1", "(2, 0.1)", "0.15")):
            # a short timeout only where it surely fires: a race between the two is no finding
            first = re.sub(r"/slow\?s=[0-9.]+", f"/slow?s={SLOW_MAX}", first)
        return Call(f"{receiver}.{verb}({first}{kws})", endpoint, method)

    def keywords(self, verb: str, endpoint: str, stream: bool) -> str:
        ch = self.ch
        out = []
        if ch.chance(0.25):
            out.append("params=" + ch.choice((
                '{"q": "a b", "page": 2}', '{"tags": ["x", "y"]}', '[("a", "1"), ("a", "2")]',
                '{"x": "2"}', '"raw=1&two=2"', '{"empty": ""}', '{"none": None}', '{"é": "ü"}',
                '(("k", 1),)', "PARAMS", "PARAMS_NONE")))
        if ch.chance(0.25):
            out.append("headers=" + ch.choice((
                '{"X-A": "1"}', '{"X-A": "1", "Authorization": "Bearer t"}', '{"Content-Type": "text/x"}',
                '{"x-a": "lower"}', '{"X-A": None}', '{"X-Count": 3}', '{"X-A": "  padded  "}')))
        if endpoint == "form" or (verb in ("post", "put", "patch") and ch.chance(0.6)) or ch.chance(0.05):
            body = ch.weighted([(3, "json"), (3, "data_dict"), (2, "data_str"), (2, "data_bytes"), (1, "data_other")])
            if body == "json":
                # ASCII only: httpx sends "é" as UTF-8 where requests escapes it (`\u00e9`), a
                # difference of bytes the change's notes name (the echo decodes bodies as latin-1)
                out.append("json=" + ch.choice(('{"a": 1}', '{"name": "e", "n": [1, 2]}', "[1, 2, 3]", '"text"',
                                                "None", "{}")))
            elif body == "data_dict":
                out.append("data=" + ch.choice(('{"user": "ana", "lang": "pt"}', '{"y": ["2", "é"]}', '{}',
                                                '{"n": 1}')))
            elif body == "data_str":
                out.append("data=" + ch.choice(('"plain text"', '"café"', '""', 'json.dumps({"a": 1})',
                                                '"a=1&b=2"', 'f"v={1}"')))
            elif body == "data_bytes":
                out.append("data=" + ch.choice(('b"raw"', 'b"caf\\xe9"', 'b""', '"x".encode()')))
            else:
                out.append("data=" + ch.choice(('[("a", "1"), ("a", "2")]', '{"k": None}', "None")))
        timeout = ch.weighted([(6, None), (2, "5"), (1, "2.5"), (1, "(3.05, 27)"), (1, "None"), (1, "(2, 5)")])
        if endpoint == "slow" and ch.chance(0.6):
            timeout = ch.choice(("0.1", "(2, 0.1)", "0.15", "5"))
        if timeout is not None:
            out.append("timeout=" + timeout)
        if ch.chance(0.3) or endpoint == "redirect" and ch.chance(0.4):
            out.append("allow_redirects=" + ch.choice(("True", "False")))
        if ch.chance(0.1):
            out.append("stream=False")
        if ch.chance(0.06):
            out.append("verify=" + ch.choice(("True", "False")))
        if ch.chance(0.04):
            out.append('auth=("u", "p")')
        if ch.chance(0.03):
            out.append('cookies={"c": "1"}')
        if ch.chance(0.3):
            self.ch_shuffle(out)
        text = ", ".join(out)
        if "PARAMS" in text:
            text = text.replace("PARAMS_NONE", '{"keep": "1", "drop": None}').replace("PARAMS", '{"v": "1"}')
        return (", " + text) if text else ""

    def ch_shuffle(self, items: list) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.ch.integer(0, i)
            items[i], items[j] = items[j], items[i]

    # -- reading the response ----------------------------------------------------------------------
    def uses(self, r: str, call: Call, count: int) -> list[str]:
        """Expressions reading `r` (a "!" first: a statement instead of a value)."""
        ch = self.ch
        generic = [(4, f"{r}.status_code"), (3, f"{r}.ok"), (2, f"not {r}.ok"), (1, f"{r}.ok == True"),
                   (2, f"{r}.reason"), (2, f'{r}.headers.get("content-type")'),
                   (2, f"str({r}.url)"), (1, f"{r}.url"),
                   (2, f"len({r}.history)"), (1, f"{r}.is_redirect"), (2, f"!{r}.raise_for_status()"),
                   (1, f"[h.status_code for h in {r}.history]"), (1, f"{r}.encoding"), (1, f"bool({r})"),
                   (1, f'{r}.url.endswith("/json")'), (1, f"{r}.status_code == 200 and {r}.ok")]
        if call.endpoint == "echo":
            # a `json=` body is read parsed: httpx serialises compactly (documented)
            raw = 0 if "json=" in call.text else 3
            generic += [(4, f'{r}.json()["method"]'), (3, f'{r}.json()["query"]'), (raw, f'{r}.json()["body"]'),
                        (3, f'{r}.json()["headers"].get("x-a")'), (2, f'{r}.json()["headers"].get("content-type")'),
                        (1, f'{r}.json()["headers"].get("authorization")'),
                        (1, f'{r}.json()["headers"].get("cookie")'),
                        (1, f'{r}.json()["headers"].get("x-s")'), (1, f'{r}.json()["headers"].get("x-global")'),
                        (1, f'{r}.json()["headers"].get("x-count")'),
                        (2, f'json.loads({r}.json()["body"] or "null")'), (1, f'{r}.json()["path"]')]
            # not the request's Content-Length: a compact `json=` body, and requests' `0` on a
            # bodiless OPTIONS, differ by design (both in the change's notes)
        elif not (call.endpoint == "form" and "json=" in call.text):  # /form echoes a raw body
            # (the echo's body, and so its length, holds the libraries' own headers)
            generic += [(3, f"{r}.json()"), (3, f"{r}.text"), (2, f"{r}.content"), (1, f"len({r}.content)"),
                        (1, f'{r}.headers.get("Content-Length")')]
        return [ch.weighted(generic) for _ in range(count)]

    def handlers(self, min_count: int = 1, names: tuple[str, ...] | None = None) -> str:
        ch = self.ch
        out = ""
        pool = list(names or HANDLERS) + (list(BARE) if self.bare and names is None else [])
        for i in range(ch.integer(min_count, 3)):
            if ch.chance(0.2) and names is None:
                picked = []
                for _ in range(ch.integer(2, 3)):
                    t = ch.choice(pool)
                    if t not in picked:
                        picked.append(t)
                typ = "(" + ", ".join(picked) + ")" if len(picked) > 1 else picked[0]
            else:
                typ = ch.choice(pool)
            label = typ.replace("requests.exceptions.", "").replace("requests.", "")
            name = self.fresh("e") if ch.chance(0.6) else None
            body = f"out.append({json.dumps('caught ' + label)})\n"
            if name:
                shape = ch.weighted([(3, "kind"), (2, "response"), (1, "str"), (1, "raise")])
                if shape == "kind":
                    body += f"out.append(_kind({name}))\n"
                elif shape == "response":
                    body += f"out.append({name}.response.status_code)\n"
                elif shape == "str":
                    body += f"out.append({name}.response is None)\n"
                else:
                    body += "raise\n"
            out += f"except {typ}{' as ' + name if name else ''}:\n" + indent(body, 1)
        return out


def indent(text: str, levels: int) -> str:
    pad = "    " * levels
    return "".join(pad + line if line.strip() else line for line in text.splitlines(True))


# -- running ------------------------------------------------------------------------------------
# The harness lives here too (this module is the http fuzz's one home in tests/difffuzz): rewrite
# a program with checked_rewrite, run the original and the rewrite against one shared server,
# each in a fresh `asyncio.run` in a thread of its own (a hang is reported after RUN_TIMEOUT and
# its thread left behind), and compare what `main` returned.

RUN_TIMEOUT = 20.0  # seconds: a run still going then is a hang (the longest program takes ~1 s)


def canon(value):
    """`value` as a comparable, type-strict form: `True` is not `1`, an `httpx.URL` is not the
    `str` it equals; dicts compare by content (the order of keys is not compared)."""
    if isinstance(value, dict):
        return ("dict", sorted(((canon(k), canon(v)) for k, v in value.items()), key=repr))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [canon(v) for v in value])
    if value is None or type(value) in (str, bytes, int, float, bool):
        return (type(value).__name__, value)
    return (f"{type(value).__module__}.{type(value).__qualname__}", repr(value))


def describe(outcome: tuple) -> str:
    if outcome[0] == "returned":
        return f"returned {outcome[1]!r}"
    if outcome[0] == "hang":
        return f"hang: no result after {RUN_TIMEOUT} s"
    return f"{outcome[0]} {outcome[1]}: {outcome[2]}"


def same(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "returned":
        return canon(a[1]) == canon(b[1])
    if a[0] in ("raised", "import"):
        return a[1] == b[1]  # the kind
    return True  # both hang


@dataclass
class Report:
    program: Program
    rewritten: str = ""  # "" when the tool changed nothing
    tool_error: str = ""
    original: tuple | None = None
    rewrite: tuple | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.rewritten) and self.rewritten != self.program.text

    @property
    def swapped(self) -> bool:
        """The rewrite uses httpx (some call was swapped), not only threads."""
        return self.changed and "httpx" in self.rewritten

    @property
    def threaded(self) -> bool:
        return self.changed and "to_thread" in self.rewritten

    @property
    def status(self) -> str:
        """tool | difference | same | unchanged"""
        if self.tool_error:
            return "tool"
        if not self.changed:
            return "unchanged"
        return "same" if same(self.original, self.rewrite) else "difference"

    def explain(self) -> str:
        out = [f"{self.status} (seed {self.program.seed})", "--- original", self.program.text,
               "--- rewrite", self.rewritten or "(unchanged)"]
        if self.tool_error:
            out.append(f"--- tool error: {self.tool_error}")
        if self.original is not None:
            out.append(f"--- original outcome: {describe(self.original)}")
        if self.rewrite is not None:
            out.append(f"--- rewrite outcome:  {describe(self.rewrite)}")
        return "\n".join(out)

    def standalone(self) -> str:
        """A file that reruns the finding on its own: `python FILE` starts the server, runs both
        sides and prints both outcomes."""
        return (
            f'"""http differential fuzz finding: {self.status} (seed {self.program.seed}).\n\n'
            f"original outcome: {describe(self.original) if self.original else '-'}\n"
            f"rewrite outcome:  {describe(self.rewrite) if self.rewrite else '-'}\n"
            + (f"tool error: {self.tool_error}\n" if self.tool_error else "")
            + '"""\n\nimport sys\n\n'
            f"sys.path.insert(0, {str(_REPO)!r})\n\n"
            f"ORIGINAL = {self.program.text!r}\n\nREWRITE = {self.rewritten!r}\n\n\n"
            'if __name__ == "__main__":\n'
            "    from tests.difffuzz.http_grammar import Harness, Program, describe\n\n"
            "    with Harness() as harness:\n"
            "        for label, text in ((\"original\", ORIGINAL), (\"rewrite\", REWRITE)):\n"
            "            if text:\n"
            "                print(label, describe(harness.run(text)))\n"
        )


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[2]


_REPO = _repo()


class Harness:
    """One loopback server (tests/http_server.py), one catalog, one temp dir for the modules.

        with Harness() as harness:
            report = harness.check(generate(7))
    """

    def __init__(self, server=None):
        import itertools
        import os
        import tempfile
        import warnings

        from asyncfix.catalog import Catalog
        from asyncfix.codemods import CATEGORIES

        warnings.simplefilter("ignore", ResourceWarning)
        self._own_server = server is None
        self._saved_env = {}
        if server is None:
            from tests.http_server import HttpServer

            # as tests/http_server.py's fixture does: loopback requests never go to a proxy
            for name in ("NO_PROXY", "no_proxy"):
                self._saved_env[name] = os.environ.get(name)
                os.environ[name] = ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"]))
            server = HttpServer()
        self.server = server
        self.server.delay = 0
        self.url = server.url
        self.catalog = Catalog(CATEGORIES)
        self.dir = tempfile.TemporaryDirectory(prefix="httpfuzz-")
        self.serial = itertools.count()

    def __enter__(self) -> "Harness":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        import os

        self.dir.cleanup()
        if self._own_server:
            self.server.close()
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def rewrite(self, text: str) -> tuple[str, str]:
        """(the rewritten text, "" if unchanged; the tool error, "" if none)."""
        from asyncfix.apply import checked_rewrite

        try:
            result = checked_rewrite(text, "prog.py", self.catalog, set(self.catalog.categories))
        except Exception as exc:  # noqa: BLE001 - VerifyError or a crash: both the tool's
            return "", f"{type(exc).__name__}: {exc}"
        return result.text or "", ""

    def run(self, text: str) -> tuple:
        """Import `text` as a fresh module and `asyncio.run(main(url))` in a thread of its own:
        ("returned", value), ("raised"/"import", kind, message) or ("hang",)."""
        import asyncio
        import importlib.util
        import sys
        import threading
        from pathlib import Path

        name = f"_httpfuzz_{next(self.serial)}"
        path = Path(self.dir.name) / f"{name}.py"
        path.write_text(text)
        box: list = []

        def work():
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                try:
                    spec.loader.exec_module(module)
                except Exception as exc:  # noqa: BLE001
                    box.append(("import", error_kind(exc), f"{type(exc).__name__}: {exc}"))
                    return
                try:
                    box.append(("returned", asyncio.run(module.main(self.url))))
                except Exception as exc:  # noqa: BLE001 - main lets it out: an outcome
                    box.append(("raised", error_kind(exc), f"{type(exc).__name__}: {exc}"))
            finally:
                sys.modules.pop(name, None)

        thread = threading.Thread(target=work, name=f"httpfuzz {name}", daemon=True)
        thread.start()
        thread.join(RUN_TIMEOUT)
        path.unlink(missing_ok=True)
        return box[0] if box else ("hang",)

    def check(self, program: Program, rewritten: str | None = None) -> Report:
        """Rewrite (or take `rewritten`: the harness's own tests), run both sides if changed."""
        import time

        started = time.monotonic()
        report = Report(program)
        if rewritten is None:
            report.rewritten, report.tool_error = self.rewrite(program.text)
        else:
            report.rewritten = rewritten
        if report.changed:
            report.original = self.run(program.text)
            report.rewrite = self.run(report.rewritten)
        report.seconds = time.monotonic() - started
        return report
