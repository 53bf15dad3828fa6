"""Selecting codes as ruff does: --select/--ignore/--extend-select, config keys, opt-in codes."""

from __future__ import annotations

import json
import textwrap

import pytest

SOURCE = textwrap.dedent("""\
    import sqlite3
    import subprocess
    import time


    async def handler(p):
        time.sleep(1)
        subprocess.run(["ls"])
        sqlite3.connect(p)
""")


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(SOURCE)
    return tmp_path


def codes(cli, *args) -> list[str]:
    result = cli("check", "--no-cache", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.stderr
    return [f["code"] for f in json.loads(result.stdout)["findings"]]


def test_category_flag_takes_a_code(project, cli):
    assert codes(cli, "-c", "AF501") == ["AF501"]
    assert codes(cli, "-c", "af511", "-c", "sleep") == ["AF501", "AF511"]


def test_select_takes_codes_prefixes_and_categories_comma_separated(project, cli):
    assert codes(cli, "--select", "AF5") == ["AF501", "AF511"]
    assert codes(cli, "--select", "AF301,sleep") == ["AF501", "AF301"]
    assert codes(cli, "--select", "ALL") == ["AF501", "AF511", "AF301"]


def test_ignore_and_the_most_specific_selector_wins(project, cli):
    assert codes(cli, "--ignore", "AF5") == ["AF301"]
    assert codes(cli, "--select", "AF5", "--ignore", "AF511") == ["AF501"]
    # a full code is more specific than a prefix: selected although its prefix is ignored
    assert codes(cli, "--select", "AF511", "--ignore", "AF5") == ["AF511"]
    assert codes(cli, "--ignore", "subprocess", "--extend-select", "AF511") == ["AF501", "AF511", "AF301"]


def test_config_keys_and_the_command_line_over_them(project, cli):
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nselect = ["AF5"]\nignore = ["AF511"]\n')
    assert codes(cli) == ["AF501"]
    assert codes(cli, "--extend-select", "sqlite") == ["AF501", "AF301"]
    assert codes(cli, "--select", "AF511") == ["AF511"]  # a new select starts afresh, as in ruff
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nextend-select = ["AF3"]\nignore = ["sleep"]\n')
    assert codes(cli) == ["AF511", "AF301"]


@pytest.mark.parametrize("args, message", [
    (("--select", "AF999"), "asyncfix: error: unknown code 'AF999'; see `asyncfix categories`\n"),
    (("--ignore", "AF5,bogus"), "asyncfix: error: unknown category 'bogus'"),
])
def test_unknown_selector_is_a_one_line_usage_error(project, cli, args, message):
    for command in ("check", "apply"):
        result = cli(command, *args)
        assert result.exit_code == 2
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
        assert result.stdout == ""
    assert (project / "app.py").read_text() == SOURCE


def test_unknown_selector_in_the_config_names_the_file(project, cli):
    (project / "pyproject.toml").write_text('[tool.asyncfix]\nignore = ["AF9"]\n')
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr == (f"asyncfix: error: {project / 'pyproject.toml'}: unknown code 'AF9'; "
                             "see `asyncfix categories`\n")


def test_apply_moves_only_the_selected_codes(project, cli):
    result = cli("apply", "--ignore", "AF511")
    text = (project / "app.py").read_text()
    assert "await asyncio.sleep(1)" in text
    assert '    subprocess.run(["ls"])\n' in text  # ignored: left as it is
    assert result.exit_code == 1  # the sqlite finding stays, unfixable


def test_explain_takes_any_case(cli):
    assert cli("explain", "af501").stdout.startswith("# sleep")
    assert cli("explain", "SLEEP").stdout.startswith("# sleep")
    assert cli("explain", "File-IO").stdout.startswith("# file-io")


# Opt-in codes: off by default; only their full code, selected or extend-selected, turns them on.

def test_opt_in_codes_need_their_full_code(catalog):
    from asyncfix.selection import Layer, Universe, select_codes

    universe = Universe(catalog, opt_in={"AF511"})
    assert "AF511" not in select_codes(universe, [])
    assert "AF501" in select_codes(universe, [])
    for selector in ("ALL", "AF5", "AF51", "subprocess"):
        assert "AF511" not in select_codes(universe, [Layer((selector,))]), selector
        assert "AF511" not in select_codes(universe, [Layer(None, (selector,))]), selector
    assert "AF511" in select_codes(universe, [Layer(("AF511",))])
    assert "AF511" in select_codes(universe, [Layer(None, ("af511",))])
    # turned on in the config, it stays on under a command line that does not select afresh
    assert "AF511" in select_codes(universe, [Layer(None, ("AF511",)), Layer(None, (), ("sleep",))])
    assert "AF511" not in select_codes(universe, [Layer(None, ("AF511",)), Layer(None, (), ("AF5",))])


def test_a_rule_marked_opt_in_is_off_by_default(catalog):
    from asyncfix.selection import Layer, Universe, select_codes

    class Cat:
        def __init__(self, name, rules):
            self.name, self.rules = name, rules

    class Rule:
        def __init__(self, code, opt_in=False):
            self.code, self.opt_in = code, opt_in

    class Cats:
        categories = {"json": Cat("json", [Rule("AF121"), Rule("AF123", opt_in=True)])}

    universe = Universe(Cats())
    assert universe.opt_in == {"AF123"}
    assert select_codes(universe, [Layer(("json",))]) == {"AF121"}
    assert select_codes(universe, [Layer(None, ("AF123",))]) == {"AF121", "AF123"}


def test_opt_in_codes_through_the_cli(project, cli, monkeypatch):
    import asyncfix.selection

    monkeypatch.setattr(asyncfix.selection, "OPT_IN", frozenset({"AF501"}))
    assert codes(cli) == ["AF511", "AF301"]
    assert codes(cli, "--select", "AF5") == ["AF511"]
    assert codes(cli, "--extend-select", "AF501") == ["AF501", "AF511", "AF301"]
    listed = cli("categories").stdout
    assert "[AF501 (opt-in)]" in listed
    cli("apply", "-c", "sleep")  # apply rewrites what check reports by default, nothing else
    assert (project / "app.py").read_text() == SOURCE


def test_selection_errors_are_one_line(catalog):
    from asyncfix.selection import SelectionError, Universe

    universe = Universe(catalog)
    with pytest.raises(SelectionError, match="^unknown code 'AF0'"):
        universe.resolve("AF0")


SMALL_JSON = 'import json\n\n\nasync def handler(e):\n    return json.dumps({"error": str(e)})\n'


def test_the_catalogs_opt_in_code_is_produced_only_when_selected(tmp_path, monkeypatch, cli, catalog):
    """The engine skips default-off codes unless its catalog is told: check (cached or not, from a
    file or stdin) and apply must pass the selection on."""
    from asyncfix.selection import Universe

    if "AF123" not in Universe(catalog).opt_in:
        pytest.skip("no opt-in json code in this catalog")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.py").write_text(SMALL_JSON)
    assert cli("check").exit_code == 0  # and fills the cache
    assert codes(cli, "--extend-select", "AF123") == ["AF123"]
    assert cli("check", "--extend-select", "AF123").exit_code == 1  # not the cached default run's verdict
    assert cli("check", "--select", "json").exit_code == 0
    assert cli.runner.invoke(asyncfix_cli_app(), ["check", "-", "--select", "AF123"], input=SMALL_JSON).exit_code == 1
    cli("apply")
    assert (tmp_path / "app.py").read_text() == SMALL_JSON
    cli("apply", "--extend-select", "AF123")
    assert "await asyncio.to_thread(json.dumps" in (tmp_path / "app.py").read_text()


def asyncfix_cli_app():
    from asyncfix.cli import app

    return app
