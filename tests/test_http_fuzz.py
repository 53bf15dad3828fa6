"""Differential fuzz of the `requests -> httpx.AsyncClient` rewrite (tests/difffuzz/http_grammar.py):
hypothesis builds small async programs that use requests against the loopback server of
tests/http_server.py, `checked_rewrite` rewrites each, and the original and the rewrite run (each
in a fresh `asyncio.run`) against the same server; a different return value, a failure on one side
only, or an exception inside checked_rewrite fails the test with the program, the rewrite and both
outcomes.

The budget is fixed (derandomized, EXAMPLES programs, no shrinking) so it stays inside a minute on
2 cores; the long run with the same grammar is `python benchmarks/fuzz_http.py`. The other tests
show that the harness can fail: a deliberately wrong rewrite is reported, a faithful one is not.
"""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.difffuzz.http_grammar import Harness, Program, error_kind, generate, programs

EXAMPLES = 150  # measured: about 35 s on the 2-core machine


@pytest.fixture(scope="module")
def harness(http_server):
    with http_server.delayed(0):
        with Harness(http_server) as h:
            yield h


@settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.large_base_example, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(program=programs())
def test_http_rewrite_keeps_behaviour(harness, program):
    report = harness.check(program)
    assert report.status in ("same", "unchanged"), report.explain()


# -- the harness itself ------------------------------------------------------------------------
ORIGINAL = textwrap.dedent('''\
    import requests


    async def main(base_url):
        out = []
        try:
            r = requests.get(base_url + "/redirect/1", allow_redirects=False)
            out.append([r.status_code, r.ok, r.headers.get("location")])
            r = requests.get(base_url + "/status/404")
            r.raise_for_status()
        except requests.HTTPError as exc:
            out.append(["status", exc.response.status_code])
        except Exception as exc:
            return ["raised", type(exc).__name__, out]
        return out
''')


def test_a_wrong_rewrite_is_reported(harness):
    program = Program(ORIGINAL)
    # Redirects followed where they were not: /redirect/1 ends on /json, 200 instead of 302.
    wrong = ORIGINAL.replace(", allow_redirects=False", "")
    assert wrong != ORIGINAL
    report = harness.check(program, rewritten=wrong)
    assert report.status == "difference", report.explain()
    assert report.original == ("returned", [[302, True, "/redirect/0"], ["status", 404]]), report.explain()
    assert report.rewrite[1][0] == [200, True, None], report.explain()


def test_a_crash_on_one_side_is_reported(harness):
    wrong = ORIGINAL.replace("except requests.HTTPError as exc:", "except KeyError as exc:")
    report = harness.check(Program(ORIGINAL), rewritten=wrong)
    assert report.status == "difference", report.explain()
    assert report.rewrite == ("returned", ["raised", "HTTPError", [[302, True, "/redirect/0"]]]), report.explain()


def test_a_faithful_rewrite_is_not_reported(harness):
    # Same behaviour, other text (and another library): the comparison must not cry wolf.
    same = ORIGINAL.replace("import requests", "import httpx\nimport requests\nUNUSED = httpx")
    report = harness.check(Program(ORIGINAL), rewritten=same)
    assert report.changed and report.swapped and report.status == "same", report.explain()


def test_values_compare_by_type():
    from tests.difffuzz.http_grammar import same

    assert not same(("returned", [True]), ("returned", [1]))
    assert not same(("returned", "http://x/"), ("returned", __import__("httpx").URL("http://x/")))
    assert same(("returned", {"a": 1, "b": 2}), ("returned", {"b": 2, "a": 1}))


def test_error_kinds_match_across_libraries():
    import httpx
    import requests

    request = httpx.Request("GET", "http://127.0.0.1/")
    assert error_kind(requests.HTTPError()) == error_kind(
        httpx.HTTPStatusError("", request=request, response=None)) == "status"
    assert error_kind(requests.ConnectionError()) == error_kind(httpx.ConnectError("")) == "connect"
    assert error_kind(requests.ReadTimeout()) == error_kind(httpx.ReadTimeout("")) == "timeout"
    assert error_kind(KeyError("k")) == "other:KeyError"


def test_generated_programs_compile():
    for seed in range(300):
        text = generate(seed).text
        compile(text, f"seed-{seed}", "exec", dont_inherit=True)
        assert "async def main(base_url):" in text
