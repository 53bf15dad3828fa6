"""Unit tests for asyncfix.transforms.mutation: state the module changes, which a thread must not
read meanwhile."""

from __future__ import annotations

import ast
import textwrap

import pytest

from asyncfix.transforms.mutation import Mutations

MODULE = """
STATE = {"sensors": {}}
CONFIG = {"a": 1}
HISTORY = []
COUNT = 0


async def update(k, v):
    STATE["sensors"][k] = v


def remember(x):
    HISTORY.append(x)


def bump():
    global COUNT
    COUNT += 1


def shadow():
    CONFIG = {}
    CONFIG["b"] = 2


class Store:
    def __init__(self):
        self.state = {}
        self.path = "p"

    def put(self, k, v):
        self.state[k] = v

    async def rename(self, path):
        self.path = path

    def get(self, k):
        return self.state.get(k)


class Other:
    def put(self, k):
        self.cache[k] = 1
"""


def _mutations() -> Mutations:
    tree = ast.parse(textwrap.dedent(MODULE))
    return Mutations.of(tree, {"STATE", "CONFIG", "HISTORY", "COUNT"})


def test_keys_written_by_module_code():
    m = _mutations()
    assert m.module == {"STATE", "HISTORY", "COUNT"}  # CONFIG is only shadowed by a local
    assert m.by_class == {"Store": {"self.state", "self.path"}, "Other": {"self.cache"}}


@pytest.mark.parametrize(("reads", "self_name", "class_name", "expected"), [
    pytest.param({"STATE"}, None, None, "STATE", id="module-dict-read-whole"),
    pytest.param({"HISTORY"}, None, None, "HISTORY", id="module-list-appended-elsewhere"),
    pytest.param({"CONFIG"}, None, None, None, id="module-dict-never-changed"),
    pytest.param({"self.state"}, "self", "Store", "self.state", id="attribute-changed-by-a-method"),
    pytest.param({"me.state"}, "me", "Store", "me.state", id="self-named-otherwise"),
    pytest.param({"self"}, "self", "Store", "self", id="self-read-whole"),
    pytest.param({"self.cache"}, "self", "Store", None, id="another-class-changes-its-own"),
    pytest.param({"self.state"}, None, None, None, id="not-a-method"),
    pytest.param({"path", "data"}, "self", "Store", None, id="parameters-only"),
])
def test_changed(reads, self_name, class_name, expected):
    assert _mutations().changed(reads, self_name, class_name) == expected
