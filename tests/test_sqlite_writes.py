"""Which connection blocks write (and take the thread form) and which only read (aiosqlite)."""

from __future__ import annotations

import ast

import pytest

from asyncfix.transforms.sqlite_writes import is_read, module_strings, write_reason


@pytest.mark.parametrize("sql, read", [
    ("SELECT 1", True),
    ("  select * from t", True),
    ("(SELECT 1) UNION SELECT 2", True),
    ("-- a comment\nSELECT 1", True),
    ("/* INSERT */ SELECT 1", True),
    ("VALUES (1), (2)", True),
    ("EXPLAIN QUERY PLAN SELECT 1", True),
    ("WITH a AS (SELECT 1) SELECT * FROM a", True),
    ("WITH a AS (SELECT 1) INSERT INTO t SELECT * FROM a", False),
    ("with a as (select 1) delete from t where x in a", False),
    ("PRAGMA table_info(t)", True),
    ("PRAGMA journal_mode = WAL", False),
    ("INSERT INTO t VALUES (1)", False),
    ("REPLACE INTO t VALUES (1)", False),
    ("UPDATE t SET x = 1", False),
    ("CREATE TABLE t (x)", False),
    ("BEGIN IMMEDIATE", False),
    ("VACUUM", False),
    ("", False),
])
def test_reads_are_recognised_and_everything_else_writes(sql, read):
    assert is_read(sql) is read


def calls(source: str) -> set[ast.Call]:
    return {n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Call)}


@pytest.mark.parametrize("source, reason", [
    ("conn.execute('SELECT 1').fetchone()", None),
    ("conn.execute(f'SELECT * FROM {t}')", None),
    ("conn.execute(READ)", None),
    ("conn.execute_fetchall('SELECT 1')", None),
    ("conn.execute('SELECT 1')\nconn.commit()", "it writes (`.commit()` at line 2)"),
    ("conn.rollback()", "it writes (`.rollback()` at line 1)"),
    ("conn.executemany('SELECT ?', rows)", "it writes (`.executemany()` at line 1)"),
    ("cur.executescript('SELECT 1')", "it writes (`.executescript()` at line 1)"),
    ("cur.execute('DELETE FROM t')", "it writes (`DELETE` at line 1)"),
    ("conn.execute(WRITE)", "it writes (`INSERT` at line 1)"),
    ("conn.execute(sql)", "its SQL at line 1 is built at run time (counted as a write)"),
    ("conn.execute(TWICE)", "its SQL at line 1 is built at run time (counted as a write)"),
    ("conn.execute(f'{verb} x')", "its SQL at line 1 is built at run time (counted as a write)"),
    ("conn.execute(f'WITH a AS (SELECT 1) {rest}')", "its SQL at line 1 is built at run time (counted as a write)"),
    ("conn.execute('SELECT ' + cols)", "its SQL at line 1 is built at run time (counted as a write)"),
    ("conn.execute()", "its SQL at line 1 is built at run time (counted as a write)"),
])
def test_the_first_write_of_a_block_is_its_reason(source, reason):
    constants = module_strings(ast.parse(
        "READ = 'SELECT 1'\nWRITE: str = 'INSERT INTO t VALUES (1)'\nTWICE = 'SELECT 1'\nTWICE = 'DELETE FROM t'\n"))
    assert constants == {"READ": "SELECT 1", "WRITE": "INSERT INTO t VALUES (1)"}
    assert write_reason(calls(source), constants) == reason
