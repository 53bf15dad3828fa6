"""http: synchronous HTTP clients on the loop (checklist 1.4B)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

VERBS = ("get", "options", "head", "post", "put", "patch", "delete", "request")
SESSION, HTTPX_CLIENT = "requests.Session", "httpx.Client"
URLLIB3_POOLS = ("urllib3.PoolManager", "urllib3.ProxyManager", "urllib3.HTTPConnectionPool",
                 "urllib3.HTTPSConnectionPool")
HTTP_CONNECTION = "http.client.HTTPConnection"

CATEGORY = Category(
    name="http",
    section="1.4B",
    title="HTTP requests without an async client",
    doc=Doc(
        what="Flags `requests.*` (module functions and `Session` methods), "
        "`urllib.request.urlopen`, `urllib3` requests and pools, `http.client` connections, and "
        "the synchronous `httpx`/`httpx2` functions and `Client` methods inside `async def`.",
        why="A synchronous request holds the loop for the whole round trip: DNS, connect, TLS "
        "and the server's response time, seconds when a service is slow and forever without a "
        "timeout.",
        example="async def fetch(url: str):\n"
        "    r = requests.get(url)\n"
        "    return r.json()",
        instead="`httpx.AsyncClient` (or `httpx2`, whichever the project depends on), with "
        "requests' behaviour spelled out: `async with httpx.AsyncClient(follow_redirects=True, "
        "max_redirects=30, timeout=None) as client: r = await client.get(url)`; `not r.is_error` "
        "for `r.ok`, httpx's exceptions in the `except` clauses. Where that changes behaviour, "
        "run the request in a thread with `asyncio.to_thread`.",
        fix_safety="Safe where applied, with notes. `apply` swaps a requests call for httpx only "
        "where everything around it reads the same: the keywords (`allow_redirects`, `data=` "
        "text, `auth` tuples), the response's uses (`ok`, `reason`, `url`, `raise_for_status()` "
        "with redirects followed, streams read in one `with`), the `except` clauses around it "
        "(mapped to httpx's classes) and the callers in the module. It keeps requests' "
        "redirects (followed, 30 at most) and its missing timeout, and gives every client one "
        "TLS context. It leaves on requests, in a thread, a response that leaves the coroutine, "
        "a session made outside it (an AsyncClient is bound to one loop), `except OSError`/"
        "`ValueError` around the call, custom auth, hooks, files, prepared requests, and "
        "`data=` of unknown type; sync httpx becomes its AsyncClient (same defaults and "
        "errors); urllib, urllib3 and http.client run in a thread. Each change carries notes "
        "for its reviewer (`apply --diff`): JSON bodies are serialised compactly, default "
        "headers are httpx's, errors leaving the coroutine are httpx's, a finite timeout is "
        "advised.",
        imports="import requests",
    ),
    rules=(
        Rule(
            code="AF411",
            message="`{name}` makes a blocking HTTP request on the event loop",
            functions=tuple(f"requests.{v}" for v in VERBS),
            upstream=("ASYNC210",),
        ),
        Rule(
            code="AF412",
            message="`{name}` makes a blocking HTTP request through a requests Session",
            methods={SESSION: VERBS + ("send",)},
        ),
        Rule(
            code="AF413",
            message="`{name}` makes a blocking HTTP request with urllib on the event loop",
            functions=("urllib.request.urlopen", "urllib.request.urlretrieve"),
            methods={"urllib.request.OpenerDirector": ("open",),
                     "http.client.HTTPResponse": ("read", "read1", "readline", "readlines",
                                                  "readinto")},
            upstream=("ASYNC210",),
        ),
        Rule(
            code="AF414",
            message="`{name}` makes a blocking HTTP request with urllib3 on the event loop",
            functions=("urllib3.request",),
            methods={pool: (ANY,) for pool in URLLIB3_POOLS},
            upstream=("ASYNC210", "ASYNC212"),
        ),
        Rule(
            # flake8-async ASYNC211: `x.request("GET", ...)` where urllib3 is imported.
            code="AF415",
            message="`{name}` looks like a blocking urllib3 request on the event loop",
            method_names=("request",),
            requires_import="urllib3",
            first_arg_in=("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
                          "CONNECT"),
            upstream=("ASYNC211",),
        ),
        Rule(
            code="AF416",
            message="`{name}` makes a blocking HTTP request with synchronous httpx",
            functions=tuple(f"httpx.{v}" for v in VERBS + ("stream",)),
            methods={HTTPX_CLIENT: ("close", "delete", "get", "head", "options", "patch", "post",
                                    "put", "request", "send", "stream")},
            upstream=("ASYNC210", "ASYNC212"),
        ),
        Rule(
            code="AF417",
            message="`{name}` makes a blocking HTTP request with http.client on the event loop",
            methods={HTTP_CONNECTION: ("request", "getresponse", "connect", "send", "putrequest",
                                       "endheaders")},
        ),
    ),
    types=Types(
        returns={
            "requests.Session": SESSION, "requests.session": SESSION,
            "httpx.Client": HTTPX_CLIENT,
            "urllib.request.build_opener": "urllib.request.OpenerDirector",
            "urllib.request.urlopen": "http.client.HTTPResponse",
            "urllib.request.OpenerDirector.open": "http.client.HTTPResponse",
            f"{HTTP_CONNECTION}.getresponse": "http.client.HTTPResponse",
            **{pool: pool for pool in URLLIB3_POOLS},
            "urllib3.connection_from_url": "urllib3.HTTPConnectionPool",
            HTTP_CONNECTION: HTTP_CONNECTION,
            "http.client.HTTPSConnection": HTTP_CONNECTION,
        },
        annotations={
            "urllib3.poolmanager.PoolManager": "urllib3.PoolManager",
            "urllib3.poolmanager.ProxyManager": "urllib3.ProxyManager",
            "urllib3.connectionpool.HTTPConnectionPool": "urllib3.HTTPConnectionPool",
            "urllib3.connectionpool.HTTPSConnectionPool": "urllib3.HTTPSConnectionPool",
            "urllib3.request.RequestMethods": "urllib3.PoolManager",
            "urllib3._request_methods.RequestMethods": "urllib3.PoolManager",
            "http.client.HTTPSConnection": HTTP_CONNECTION,
        },
    ),
)
