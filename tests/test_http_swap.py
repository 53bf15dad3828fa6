"""The requests -> httpx swap case by case: exact rewrites where behaviour is kept, and the reason
given where it is not (the call then runs in a thread, still on requests). The golden pairs in
fixtures/apply/http run against a local server in test_http_behaviour.py."""

from __future__ import annotations

import textwrap

import pytest

from asyncfix.apply import checked_rewrite
from asyncfix.transforms.http_target import module_target, project_target

CONTEXT = """\
# One TLS context for the httpx clients below: each client would load the CA
# bundle again, ~55 ms of CPU on the event loop.
_HTTPX_SSL_CONTEXT = httpx.create_ssl_context()
"""
CLIENT = """\
    async with httpx.AsyncClient(
        follow_redirects=True, max_redirects=30, timeout=None, verify=_HTTPX_SSL_CONTEXT
    ) as {name}:
"""


def fix(source: str, catalog, **options):
    return checked_rewrite(textwrap.dedent(source), "app.py", catalog, {"http"}, **options)


CONSTANTS = "API = 'https://a.example'\nITEM = '7'\n"


def swapped(body: str, name: str = "client") -> str:
    """A module whose one coroutine's body became ``body`` under the standard client block."""
    return "import httpx\n\n" + CONTEXT + "\n" + CONSTANTS + "\n\nasync def f(u):\n" + CLIENT.format(
        name=name) + textwrap.indent(textwrap.dedent(body), " " * 8)


@pytest.mark.parametrize("before, after, tail", [
    # `ok` is `not is_error`, with the parentheses precedence needs
    ("r = requests.get(u)\nif not r.ok:\n    return 1\nreturn r.ok == True, r.ok\n",
     "r = await client.get(u)\n",
     "    if r.is_error:\n        return 1\n    return (not r.is_error) == True, (not r.is_error)\n"),
    # the response's object use: awaited in parentheses
    ("return requests.get(u).json()['a']\n", "return (await client.get(u)).json()['a']\n", ""),
    # mappings read by key, the history counted
    ("r = requests.get(u)\nreturn r.headers['a'], 'b' in r.headers, r.cookies.get('c'), len(r.history)\n",
     "r = await client.get(u)\n",
     "    return r.headers['a'], 'b' in r.headers, r.cookies.get('c'), len(r.history)\n"),
    # `params` with a URL that has no query (httpx's replace a query, requests' add to it)
    ("return requests.get(f'{API}/items/{ITEM}', params={'q': 1}).text\n",
     "return (await client.get(f'{API}/items/{ITEM}', params={'q': 1})).text\n", ""),
    # `raise_for_status()` raised for 4xx/5xx only (not for a 304 or a redirect not followed)
    ("r = requests.get(u, allow_redirects=False)\nr.raise_for_status()  # checked\n",
     "r = await client.get(u, follow_redirects=False)\n",
     "    if r.is_error:\n        r.raise_for_status()  # checked\n"),
    # a body in text is `content=`, `allow_redirects` is `follow_redirects`
    ("requests.post(u, data='x', allow_redirects=False)\n",
     "await client.post(u, content='x', follow_redirects=False)\n", ""),
    # GET with a JSON body goes through `request`
    ("return requests.get(u, json={'a': 1}).status_code\n",
     "return (await client.request(\"GET\", u, json={'a': 1})).status_code\n", ""),
    # head follows nothing unless asked, the client follows for the others
    ("a = requests.head(u).reason\nb = requests.request('HEAD', u).url\n",
     "a = (await client.head(u, follow_redirects=False)).reason_phrase\n"
     "b = str((await client.request('HEAD', u)).url)\n", ""),
])
def test_rewrites(before, after, tail, catalog):
    source = "import requests\n\n" + CONSTANTS + "\n\nasync def f(u):\n" + textwrap.indent(before, "    ")
    result = fix(source, catalog)
    assert result.text == swapped(after) + tail
    assert not result.unfixable


def test_calls_in_branches_share_one_client_around_the_statement(catalog):
    source = """\
    import requests


    async def f(u, v):
        if v:
            r = requests.get(u)
        elif u:
            r = requests.post(v)
        else:
            r = None
        return r
    """
    # the response is returned: both calls stay on requests, in a thread
    assert "httpx" not in fix(source, catalog).text
    source = source.replace("return r", "return r.status_code")
    text = fix(source, catalog).text
    assert "        if v:\n            r = await client.get(u)\n        elif u:\n            r = await client.post(v)" in text
    assert text.count("AsyncClient(") == 1


def test_the_client_name_avoids_the_coroutine_s_names(catalog):
    text = fix("""\
        import requests


        async def f(u, client):
            client.send(requests.get(u).text)
        """, catalog).text
    assert "as http_client:\n        client.send((await http_client.get(u)).text)" in text


@pytest.mark.parametrize("body, reason", [
    ("return requests.get(u)", "its response leaves the coroutine"),
    ("r = requests.get(u)\n    return 1 if r else 0", "used whole"),
    ("try:\n        return requests.get(u).json()\n    except OSError:\n        return None",
     "an `except OSError` around it caught requests' errors"),
    ("try:\n        return requests.get(u).json()\n    except ValueError:\n        return None",
     "an `except ValueError` around it"),
    ("try:\n        return requests.get(u).json()\n    except requests.RequestException:\n        return None",
     "caught bad JSON too"),
    ("try:\n        requests.get(u)\n    except requests.exceptions.SSLError:\n        pass",
     "`SSLError` caught around it has no httpx equivalent"),
    ("try:\n        requests.get(u)\n    except requests.ConnectionError as e:\n        return e.response",
     "reads `.response`"),
    ("return requests.post(u, data=body).status_code", "`data=` may be form fields or a raw body"),
    ("return requests.post(u, data={'a': None}).status_code", "`data=` may be form fields"),
    ("return requests.get(u, params={'a': None}).status_code", "sends `params` keys whose value is None"),
    ("return requests.get(u, auth=body).status_code", "custom requests auth class"),
    ("return requests.get(u, hooks={}).status_code", "`hooks=`"),
    ("return requests.post(u, files={'f': body}).status_code", "it uploads files"),
    ("return requests.get(u, verify='ca.pem').status_code", "`verify=` would need a client of its own"),
    ("return requests.get(u, **body).status_code", "unpacked"),
    ("return requests.get(u, cert='c.pem').status_code", "`cert=`"),
    ("requests.get(u).raise_for_status()", "on a response it does not keep"),
    ("r = requests.get(u)\n    x = 1; r.raise_for_status()", "shares its line"),
    ("return requests.get(u, headers={'A': None}).text", "header values may be None"),
    ("return requests.get(u, headers={'A': 3}).text", "header values may be None"),
    ("return requests.get(u, headers={'A': ' v'}).text", "header values may be None"),
    ("return requests.get(u, headers=body).text", "header values may be None"),
    ("h = {'A': 'b'}\n    h['C'] = body\n    return requests.get(u, headers=h).text", "header values may be None"),
    ("with requests.Session() as s:\n        s.headers['A'] = body\n        return s.get(u).text",
     "header values may be None"),
    ("with requests.Session() as s:\n        s.params = {'a': 1}\n        return s.get(u).text", "passed on"),
    ("with requests.get(u, stream=True) as r:\n        for c in r.iter_content(decode_unicode=True):\n"
     "            body.append(c)", "yields bytes where the encoding is not known"),
    ("return requests.get(u, params={'q': 1}).text", "its URL may carry a query"),
    ("return requests.get('http://').text", "its URL is malformed"),
    ("return requests.get('htp://host/x').text", "its URL is malformed"),
    ("return requests.get(API + '?a=1', params={'q': 1}).text", "its URL may carry a query"),
    ("r = requests.get(u)\n    return r.raise_for_status()", "uses what `raise_for_status()` returns"),
    ("r = requests.get(u)\n    return r.apparent_encoding", "`.apparent_encoding`"),
    ("r = requests.get(u)\n    return r.encoding", "`.encoding`"),  # httpx's is never None
    ("r = requests.get(u)\n    return dict(r.headers)", "other than by key"),  # lowercased names
    ("r = requests.get(u)\n    return [c for c in r.cookies]", "other than by key"),  # Cookie objects
    ("r = requests.get(u)\n    return r.history[0].ok", "responses of `.history`"),
    ("r = requests.get(u)\n    return (lambda: r.text)()", "a nested function uses `r`"),
    ("r = requests.get(u)\n    r = r.json()\n    return r", "`r` also holds other values"),
    ("return [x async for x in body if requests.get(x).ok]", None),
    ("return list(requests.get(x).ok for x in body)", "lambda or generator expression"),
    ("r = requests.get(u, stream=True)\n    return r.raw", "not used inside one `with` block"),
    ("with requests.get(u, stream=True) as r:\n        data = r.content\n    return data",
     "reads the body of a streamed response"),
    ("with requests.get(u, stream=True) as r:\n        pass\n    return r.status_code",
     "used after its `with` block"),
    ("with requests.get(u, stream=True) as r:\n        return [l.startswith(b'x') for l in r.iter_lines()]",
     "used other than as a `for` loop's iterable"),
    ("with requests.get(u, stream=True) as r:\n        for l in r.iter_lines():\n            body.append(l)",
     "used as bytes"),
    ("with requests.Session() as s:\n        s.verify = False\n        return s.get(u).status_code",
     "settings httpx takes only when it is made"),
    ("with requests.Session() as s:\n        s.mount('http://', body)\n        return s.get(u).status_code",
     "settings httpx takes only when it is made"),
    ("with requests.Session() as s:\n        body(s)\n        return s.get(u).status_code", "passed on"),
    ("with requests.Session() as s:\n        r = s.get(u).status_code\n    return s.get(u).status_code",
     "used after its `with` block"),
    ("with requests.Session() as s:\n        return s.get(u, verify=False).status_code",
     "httpx takes only on the client"),
    ("with requests.Session() as s:\n        return s.send(body).status_code", "`send` has no httpx.AsyncClient"),
    ("return SESSION.get(u).status_code", "its session outlives the coroutine"),
    ("x = 1\n    for _ in body:\n        yield requests.get(u).status_code", "a `yield`"),
])
def test_refused_calls_run_in_a_thread_with_the_reason(body, reason, catalog):
    source = f"import requests\n\nSESSION = requests.Session()\nAPI = 'https://a.example'\n\n\nasync def f(u, body):\n    {body}\n"
    result = fix(source, catalog)
    if reason is None:  # an async comprehension takes an await: swapped
        assert "(await client.get(x)).is_error" in result.text
        return
    assert "httpx" not in result.text, result.text
    notes = [n for f in result.fixed for n in f.notes] + [f.unfixable_reason for f in result.unfixable]
    assert any(reason in (n or "") for n in notes), notes


def test_callers_that_catch_requests_errors_keep_them(catalog):
    result = fix("""\
        import requests


        async def fetch(u):
            return requests.get(u).status_code


        async def main(u):
            try:
                return await fetch(u)
            except requests.RequestException:
                return None
        """, catalog)
    assert "httpx" not in result.text
    assert "callers of `fetch` catch requests' errors" in result.fixed[0].notes[0]


def test_except_clauses_take_the_httpx_twins(catalog):
    text = fix("""\
        import requests
        from requests.exceptions import HTTPError, Timeout


        async def f(u):
            try:
                r = requests.get(u, timeout=3)
                r.raise_for_status()
            except (HTTPError, Timeout) as exc:
                return exc
            except requests.TooManyRedirects:
                return None
            except KeyError:
                return 0
        """, catalog).text
    assert "    except (httpx.HTTPStatusError, httpx.TimeoutException) as exc:\n" in text
    assert "    except httpx.TooManyRedirects:\n" in text
    assert "    except KeyError:\n" in text
    assert "requests" not in text  # both imports went: nothing uses them


def test_imports_keep_what_is_still_used(catalog):
    text = fix("""\
        import discord, requests


        async def f(u):
            return requests.get(u).text, discord
        """, catalog).text
    assert text.startswith("import httpx\nimport discord\n")


def test_target_library_by_project_module_and_flag(tmp_path, catalog):
    (tmp_path / "requirements.txt").write_text("fastapi==0.110\nhttpx2>=2.1  # the fork\n")
    assert project_target(tmp_path) == "httpx2"
    (tmp_path / "requirements.txt").write_text("httpx2-extras\nhttpx==0.28\n")
    assert project_target(tmp_path) is None
    import ast
    tree = ast.parse("import httpx2 as h\n")
    assert module_target(tree, None) == ("httpx2", "h", False)
    assert module_target(tree, "httpx") == ("httpx", "httpx", True)
    source = "import requests\n\n\nasync def f(u):\n    return requests.get(u).text\n"
    assert "httpx2.AsyncClient(" in fix(source, catalog, http_client="httpx2").text


def test_crlf_files_keep_their_line_endings(catalog):
    source = "import requests\r\n\r\n\r\nasync def f(u):\r\n    return requests.get(u).text\r\n"
    text = checked_rewrite(source, "app.py", catalog, {"http"}, newline="\r\n").text
    assert "async with httpx.AsyncClient(" in text
    assert text.count("\n") == text.count("\r\n")


def test_notes_ride_with_the_dry_run(tmp_path, cli):
    path = tmp_path / "app.py"
    path.write_text("import requests\n\n\nasync def f(u):\n    return requests.get(u, json={}).text\n")
    result = cli("apply", "--dry-run", path)
    assert "+    async with httpx.AsyncClient(" in result.stdout
    assert "AF411 note: requests had no timeout here; `timeout=None` keeps that" in result.stderr
    assert "AF411 note: `json=` bodies are serialised compactly by httpx" in result.stderr
    assert path.read_text().startswith("import requests")


def test_no_http_finding_is_left_in_the_fixtures(catalog):
    """Every http call of the check, realistic and demo fixtures leaves the loop: swapped for
    httpx or, where that would change behaviour, run in a thread (and the rewrite is verified:
    it compiles, re-analysis agrees, a second pass changes nothing)."""
    from asyncfix.engine.file import analyze_source
    from tests.test_apply_golden import OTHER

    swapped = 0
    for path in OTHER:
        source = path.read_text()
        result = checked_rewrite(source, path.name, catalog, set(catalog.categories))
        left = [f for f in analyze_source(result.text or source, path.name, catalog) if f.category == "http"]
        assert not left, (path, left)
        swapped += (result.text or "").count(".AsyncClient(")
    assert swapped >= 10


URLOPEN_PROGRAM = '''\
import json
import urllib.request

API = "{url}"


async def main():
    with urllib.request.urlopen(f"{{API}}/json", timeout=10) as resp:
        first = resp.status, json.loads(resp.read()), resp.headers.get("content-type")
    second = urllib.request.urlopen(API + "/redirect/2")
    body = urllib.request.urlopen("{url}/text").read().decode("utf-8")
    try:
        urllib.request.urlopen(API + "/status/503")
        status = None
    except Exception as exc:
        status = type(exc).__name__ in ("HTTPError", "HTTPStatusError")
    return first, second.getcode(), second.geturl().endswith("/json"), second.reason, body, status
'''


def test_urlopen_swapped_keeps_results_and_frees_the_loop(http_server, catalog, tmp_path):
    """The URL must be known to be http(s) (urlopen also opens file: and data: URLs), so the
    server's address is written into the program, as a module constant would be."""
    import asyncio

    from tests.lag import with_lag
    from tests.modules import load

    source = URLOPEN_PROGRAM.format(url=http_server.url)
    rewritten = checked_rewrite(source, "prog.py", catalog, {"http"}).text
    assert rewritten.count("AsyncClient(") == 2 and "urllib" not in rewritten  # the `with`; the others share one
    out = {}
    for name, text in (("before", source), ("after", rewritten)):
        module = load(text, tmp_path, f"urlopen_{name}")
        asyncio.run(module.main())  # warm: first-use imports
        with http_server.delayed(0.3):
            out[name] = asyncio.run(with_lag(module.main))
    (before, lag_before), (after, lag_after) = out["before"], out["after"]
    assert after == before and before[-1] is True
    assert lag_before >= 0.25 and lag_after < 0.1, (lag_before, lag_after)


def test_one_line_blocks_get_the_client_around_their_statement(catalog):
    """`else: r = ...` has no block of its own for LibCST: the client opens around the `if`
    (found by the fuzz of one-line suites: the call was awaited on a client never opened)."""
    text = fix("""\
        import requests


        async def f(u, x):
            if x:
                r = None
            else: r = requests.get(u).text
            a = 1; b = requests.get(u).status_code
            return r, a, b
        """, catalog).text
    assert "    ) as client:\n        if x:\n            r = None\n        else: r = (await client.get(u)).text\n" \
        "        a = 1; b = (await client.get(u)).status_code\n    return r, a, b\n" in text


def test_an_edit_that_finds_no_node_drops_the_swap(catalog, monkeypatch):
    import asyncfix.transforms.http_rewrite as rewrite_mod

    monkeypatch.setattr(rewrite_mod._Apply, "leave_For", lambda self, original, updated: updated)
    source = textwrap.dedent("""\
        import requests


        async def f(u):
            with requests.get(u, stream=True) as r:
                for chunk in r.iter_content(8):
                    pass
        """)
    result = checked_rewrite(source, "app.py", catalog, {"http"})
    assert "httpx" not in result.text
    assert "the swap could not place its edits" in result.fixed[0].notes[0]


def test_a_note_shared_by_a_coroutine_s_calls_is_printed_once(tmp_path, cli):
    path = tmp_path / "app.py"
    path.write_text("import requests\n\n\nasync def f(u):\n    a = requests.get(u).text\n"
                    "    b = requests.get(u).text\n    return a, b\n")
    err = cli("apply", "--dry-run", path).stderr
    assert err.count("note: requests had no timeout here") == 1
    assert "app.py:5:9: AF411 note: requests had no timeout here" in err
