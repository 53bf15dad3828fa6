"""Builds small async programs around blocking calls, weighted toward the shapes a rewrite can get
wrong: names bound on some paths only, handlers and context managers that swallow, closures and
lazy generators over locals, `self`/private/super(), asyncio objects, context variables, sync
locks, global and nonlocal state, coroutines defined in module-level blocks, concurrency.

`build(chooser)` returns a `Program`: the module text and how the runner calls it. The runner
gives every program the same inputs: `base` (a fresh directory holding FIXTURE), `items` (a
list) and `opts` (a dict), both shared by all calls and compared afterwards.

The original must be deterministic (the harness compares two runs of it): listings are sorted,
no sets, ids, clocks or randomness, positive sleeps only as `time.sleep` (asyncio timers would
reorder concurrent tasks by wall-clock accident), and nothing that can hang the original (no
await under a threading.Lock, no non-reentrant lock taken twice, loops over copies).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from tests.difffuzz.choice import Chooser, DrawChooser, RandomChooser

# What `base` holds when a run starts; the runner writes it, the grammar names these files.
FIXTURE = {
    "note.txt": b"hello\n",
    "data.json": b'{"a": 1, "b": [1, 2]}',
    "bad.json": b"{not json",
    "list.json": b'["x", "y"]',
    "sub/inner.txt": b"inner\n",
}
READ_NAMES = ("note.txt", "data.json", "bad.json", "list.json", "sub/inner.txt", "missing.txt")
WRITE_NAMES = ("out.txt", "out.json", "note.txt", "data.json", "sub/new.txt", "nodir/x.txt")
DIR_NAMES = ("d1", "sub", "d1/d2", "note.txt")  # note.txt: makedirs on a file fails
JSON_NAMES = ("data.json", "list.json", "bad.json", "missing.json")
STR_LITERALS = ('"abc"', '"[1, 2]"', "'{\"k\": 3}'", '"oops"', '""', '"x\\ny"')
EXCEPTS = (
    "(OSError, ValueError)", "FileNotFoundError", "json.JSONDecodeError", "Exception",
    "(TypeError, KeyError)", "RuntimeError", "(OSError, ValueError, TypeError, RuntimeError)",
)
MODULES = ("asyncio", "json", "os", "time", "threading", "contextvars", "contextlib", "shutil",
           "pathlib")
MODES = ('"w"', '"a"')
KEYS = ('"k"', '"seen"')
VALUE_TYPES = ("s", "n", "ok", "d", "l", "p")
PREFIX = {"s": "s", "n": "n", "ok": "ok", "d": "d", "l": "l", "p": "p", "q": "q", "ev": "ev",
          "loop": "loop", "task": "t", "fut": "fut", "tok": "tok", "g": "g", "fn_s": "f",
          "fn_n": "f", "gen": "gen", "w": "w", "exc": "err"}


def cap(expr: str) -> str:
    """A string bound for shared state (files, items, opts, self) is cut short: 20 concurrent calls
    feeding a sink back into itself (`items.append(json.dumps(items))`) would double it 20 times."""
    simple = expr.isidentifier() or (expr[-1:] in ")]\"'" and "+" not in expr)
    return f"{expr}[:80]" if simple else f"({expr})[:80]"


@dataclass(frozen=True)
class Program:
    text: str
    entry: str  # "main" (a module function) or "Box.run" (a method of a fresh Box())
    concurrency: int  # 1: one call; n: asyncio.gather of n calls sharing base/items/opts (and self)
    seed: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Program":
        return cls(**data)


def generate(seed: int, negative_sleeps: bool = True) -> Program:
    """The long run's programs: one `random.Random` per seed, so a seed names its program."""
    program = build(RandomChooser(seed), negative_sleeps)
    return Program(program.text, program.entry, program.concurrency, seed)


def programs(negative_sleeps: bool = True):
    """The same grammar as a hypothesis strategy (CI)."""
    from hypothesis import strategies as st

    @st.composite
    def _programs(draw):
        return build(DrawChooser(draw), negative_sleeps)

    return _programs()


def build(ch: Chooser, negative_sleeps: bool = True) -> Program:
    """negative_sleeps=False: every `time.sleep` argument is >= 0 (the same draws, so a seed
    still names the same program otherwise), for a tool that documents that a negative sleep
    now returns at once instead of raising ValueError."""
    return ModuleWriter(ch, negative_sleeps).program()


# -- scopes ------------------------------------------------------------------------------------
class Env:
    """Names of the function being written: bound on every path (`sure`) or on some (`maybe`).
    Each name keeps one type, so an expression of a type can read any name of it."""

    def __init__(self, sure=None, maybe=None):
        self.sure: dict[str, str] = dict(sure or {})
        self.maybe: dict[str, str] = dict(maybe or {})

    def copy(self) -> "Env":
        return Env(self.sure, self.maybe)

    def bind(self, name: str, kind: str) -> None:
        self.sure[name] = kind
        self.maybe.pop(name, None)

    def demote(self, since: "Env") -> None:
        """Names bound since `since` become maybe-bound (a loop ran no time, a body raised)."""
        for name, kind in list(self.sure.items()):
            if name not in since.sure:
                del self.sure[name]
                self.maybe[name] = kind

    def of(self, kind: str, maybe: bool = False) -> list[str]:
        src = self.maybe if maybe else self.sure
        return [n for n, k in src.items() if k == kind]


def merge(start: Env, branches: list[tuple[Env, bool]]) -> Env:
    """Env after branches that each began as `start`; terminated branches do not fall through."""
    live = [e for e, terminated in branches if not terminated] or [start]
    sure = {n: k for n, k in live[0].sure.items() if all(n in e.sure for e in live[1:])}
    maybe = {}
    for env, _ in branches + [(start, False)]:
        for n, k in {**env.sure, **env.maybe}.items():
            if n not in sure:
                maybe[n] = k
    return Env(sure, maybe)


@dataclass
class Ctx:
    in_loop: bool = False
    is_async: bool = True  # await allowed here
    no_await: bool = False  # inside `with LOCK:` (an await there deadlocks concurrent originals)
    in_lock: bool = False
    nested: bool = False  # inside a nested def: no super(), no return type of the coroutine
    depth: int = 0
    ret: str = "any"  # what `return` returns: a value type or "any"


# -- the module --------------------------------------------------------------------------------
class ModuleWriter:
    def __init__(self, ch: Chooser, negative_sleeps: bool = True):
        self.ch = ch
        self.negative_sleeps = negative_sleeps
        self.used: set[str] = set()  # module-level definitions the bodies refer to
        self.lock_kind = ch.choice(("Lock", "RLock"))
        self.shape = ch.weighted([(5, "functions"), (3, "class"), (2, "block")])
        self.callees: list[tuple[str, str]] = []  # (call expression prefix, return type)
        # the entry made by a factory whose parameters shadow a module global and a builtin
        self.factory = self.shape == "functions" and ch.chance(0.25)

    def program(self) -> Program:
        ch = self.ch
        in_block = self.shape == "block"
        ind = "    " if in_block else ""
        callee_defs = []
        for i in reversed(range(ch.weighted([(4, 0), (3, 1), (1, 2)]))):
            ret = ch.choice(("s", "n", "d", "l"))
            name = f"co{i + 1}"
            fw = FunctionWriter(self, name, ret=ret, indent=ind)
            callee_defs.append(fw.write())
            self.callees.append((f"{name}(base, items, opts)", ret))
        private = None
        if self.shape == "class" and ch.chance(0.5):
            ret = ch.choice(("s", "n", "d"))
            fw = FunctionWriter(self, "__load", ret=ret, indent="    ", method=True)
            private = fw.write()
            self.callees.append(("self.__load(base, items, opts)", ret))
        if self.shape == "class":
            entry = FunctionWriter(self, "run", ret="any", indent="    ", method=True).write()
        elif self.factory:
            entry = FunctionWriter(self, "main", ret="any", indent="    ", factory=True).write()
            entry = (f'TAG = "module"\n\n\ndef make(TAG, id):\n{entry}    return main\n\n\n'
                     f'main = make("closure", 7)\n')
        else:
            entry = FunctionWriter(self, "main", ret="any", indent=ind).write()
        concurrency = ch.weighted([(6, 1), (2, 5), (2, 20)])

        parts = []
        if self.shape == "class":
            methods = [entry] + ([private] if private else [])
            if private and ch.chance(0.5):
                methods.reverse()
            parts.append(self.box(methods))
        if in_block:
            funcs = callee_defs + [entry]
            if ch.chance(0.5):
                funcs.reverse()
            body = "\n".join(funcs)
            if ch.chance(0.35):  # run the coroutine while the block itself still executes
                self.used.add("BASE0")
                body += ("\n    try:\n        IMPORTED = asyncio.run(main(BASE0, [], {}), debug=True)\n"
                         "    except Exception as exc:\n"
                         "        IMPORTED = \"import-time \" + type(exc).__name__\n")
            parts.append("if True:\n" + body)
        else:
            ordered = callee_defs + ([entry] if self.shape == "functions" else [])
            if ch.chance(0.4):
                ordered.reverse()
            parts.extend(ordered)
        text = self.header() + "\n\n" + "\n\n".join(p.rstrip("\n") + "\n" for p in parts)
        text = self.imports(text) + "\n\n" + text.lstrip("\n")
        return Program(text, "Box.run" if self.shape == "class" else "main", concurrency)

    def header(self) -> str:
        out = []
        if "BASE0" in self.used:
            out.append('BASE0 = os.environ.get("DIFFFUZZ_BASE", ".")')
        if "COUNTER" in self.used:
            out.append("COUNTER = 0")
        if "LOG" in self.used:
            out.append("LOG = []")
        if "LOCK" in self.used:
            out.append(f"LOCK = threading.{self.lock_kind}()")
        if "VAR" in self.used:
            out.append('VAR = contextvars.ContextVar("VAR", default="unset")')
        blocks = ["\n".join(out)] if out else []
        if "Quiet" in self.used:
            blocks.append("class Quiet:\n    def __enter__(self):\n        return self\n\n"
                          "    def __exit__(self, *exc):\n        return True  # swallows\n")
        if "small" in self.used:
            blocks.append("async def small(n):\n    await asyncio.sleep(0)\n    return n * 2\n")
        return "\n\n".join(b.rstrip("\n") + "\n" for b in blocks)

    def box(self, methods: list[str]) -> str:
        body = "\n".join(methods)
        out = ""
        if "super()" in body:
            out += "class Base:\n    def describe(self):\n        return \"base\"\n\n\n"
        out += ("class Box(Base):\n" if "super()" in body else "class Box:\n")
        out += ("    count = 0\n\n    def __init__(self):\n"
                "        self.tag = \"t\"\n        self.total = 0\n        self.seen = []\n\n")
        if "describe()" in body:
            out += "    def describe(self):\n        return \"box:\" + self.tag\n\n"
        if "self.__fmt(" in body:
            out += "    def __fmt(self, text):\n        return \"<\" + str(text) + \">\"\n\n"
        return out + body

    def imports(self, body: str) -> str:
        used = ["asyncio"] + [m for m in MODULES[1:] if re.search(rf"\b{m}\.", body)]
        if self.ch.chance(0.15):
            return f"import {', '.join(used)}\n"
        return "".join(f"import {m}\n" for m in used)


# -- one function --------------------------------------------------------------------------------
class FunctionWriter:
    def __init__(self, mod: ModuleWriter, name: str, ret: str, indent: str, method: bool = False,
                 factory: bool = False):
        self.mod = mod
        self.factory = factory
        self.ch = mod.ch
        self.name = name
        self.ret = ret
        self.indent = indent
        self.method = method
        self.counter: dict[str, int] = {}
        self.budget = self.ch.integer(2, 8)
        self.global_counter = self.ch.chance(0.15)

    # names and lines
    def new(self, kind: str) -> str:
        prefix = PREFIX[kind]
        n = self.counter.get(prefix, 0)
        self.counter[prefix] = n + 1
        return f"{prefix}{n}"

    def target(self, env: Env, kind: str) -> str:
        """A name to bind: a new one, or one bound before (rebinding is half the hazards)."""
        old = [n for n in env.of(kind) + env.of(kind, maybe=True) if n != "base"]
        if old and self.ch.chance(0.4):
            return self.ch.choice(old)
        return self.new(kind)

    def var(self, env: Env, kind: str) -> str | None:
        maybe = env.of(kind, maybe=True)
        if maybe and self.ch.chance(0.15):
            return self.ch.choice(maybe)  # may be unbound here: that is a hazard worth running
        sure = env.of(kind)
        return self.ch.choice(sure) if sure else None

    def write(self) -> str:
        ch = self.ch
        env = Env({"base": "p", "items": "params", "opts": "params"})
        annotated = ch.chance(0.3)
        params = ("base: str, items: list, opts: dict" if annotated else "base, items, opts")
        if self.method:
            params = "self, " + params
        ind = self.indent + "    "
        lines = [f"{self.indent}async def {self.name}({params}):"]
        if self.global_counter:
            self.mod.used.add("COUNTER")
            lines.append(f"{ind}global COUNTER")
        ctx = Ctx(ret=self.ret)
        terminated = self.block(lines, env, ind, ctx, top=True)
        if not terminated and ch.chance(0.15):
            self.tail_loop(lines, env, ind, ctx)  # a loop that may return early, then the last return
            name = next((n for n in env.of(self.ret if self.ret != "any" else ch.choice(("s", "n")))), None)
            lines.append(f"{ind}return {name or 'None'}")
        elif not terminated:
            lines.append(f"{ind}return {self.final_return(env)}")
        return "\n".join(lines) + "\n"

    def tail_loop(self, out, env, ind, ctx):
        """`for x in ...:` with blocking work and an early `return`: moved, it must take the
        coroutine's last `return` with it."""
        out.append(f"{ind}for step in range({self.ch.integer(0, 3)}):")
        body = env.copy()
        body.bind("step", "n")
        inner = Ctx(**{**ctx.__dict__, "depth": ctx.depth + 1, "in_loop": True})
        self.st_with_open(out, body, ind + "    ", inner)
        self.st_early_return(out, body, ind + "    ", inner)
        if self.ch.chance(0.5):
            self.statement(out, body, ind + "    ", inner)
        body.demote(env)
        env.sure, env.maybe = body.sure, {**body.maybe, **env.maybe}

    def final_return(self, env: Env) -> str:
        if self.ret != "any":
            return self.expr(env, self.ret, Ctx(), 1)
        names = [n for k in VALUE_TYPES for n in env.of(k) if n != "base"]
        names += [n for k in VALUE_TYPES for n in env.of(k, maybe=True)][:2]
        # closures and generators are called, consumed, after everything else ran
        names += [f"{n}()" for k in ("fn_s", "fn_n") for n in env.of(k)]
        names += [f"list({n})" for n in env.of("g")]
        picked = [n for n in names if self.ch.chance(0.75)][:5]
        if picked and picked[0].isidentifier() and self.ch.chance(0.25):
            return picked[0]  # a bare name: a run with early returns may take it into its helper
        return "(" + ", ".join(picked) + ",)" if picked else "len(items)"

    # -- blocks ---------------------------------------------------------------------------------
    def block(self, out: list[str], env: Env, ind: str, ctx: Ctx, top: bool = False) -> bool:
        """Statements into `out`, binding into `env`; True when the block ends in a jump."""
        count = self.ch.integer(2, 6) if top else self.ch.weighted([(3, 1), (2, 2), (1, 3)])
        start = len(out)
        for _ in range(count):
            if self.budget <= 0 and len(out) > start:
                break
            self.budget -= 1
            if self.statement(out, env, ind, ctx):
                return True
        if len(out) == start:
            out.append(f"{ind}pass")
        return False

    def statement(self, out, env, ind, ctx) -> bool:
        ch = self.ch
        deep = ctx.depth >= 3
        kinds = [
            (4, self.st_effect),
            (8, self.st_assign),
            (3, self.st_augassign),
            (4, self.st_with_open),
            (4, self.st_sleep),
            (0 if deep else 6, self.st_if),
            (0 if deep else 3, self.st_for),
            (0 if deep else 2, self.st_while),
            (0 if deep else 7, self.st_try),
            (0 if deep else 4, self.st_swallowing_with),
            (0 if deep or ctx.in_lock else 3, self.st_lock),
            (0 if ctx.nested else 4, self.st_closure),
            (2, self.st_generator),
            (3 if self.global_counter else 1, self.st_global),
            (5 if self.method and not ctx.nested else 0, self.st_self),
            (0 if ctx.no_await else 3, self.st_asyncio),
            (2, self.st_contextvar),
            (0 if ctx.no_await else 3, self.st_await),
            (2, self.st_early_return),
            (0 if deep else 3, self.st_template),
            (2, self.st_walrus),
            (2, self.st_param),
            (0 if ctx.nested or deep or ctx.no_await else 1, self.st_nested_coroutine),
            (3 if ctx.in_loop else 0, self.st_jump),
            (3 if any(k in VALUE_TYPES for k in env.maybe.values()) else 0, self.st_read_maybe),
        ]
        return bool(ch.weighted(kinds)(out, env, ind, ctx))

    def sub(self, out, env, ind, ctx, **changes) -> bool:
        fields = {**ctx.__dict__, "depth": ctx.depth + 1, **changes}
        return self.block(out, env, ind + "    ", Ctx(**fields))

    # -- expressions ----------------------------------------------------------------------------
    def path(self, env: Env, purpose: str) -> str:
        names = {"read": READ_NAMES, "write": WRITE_NAMES, "dir": DIR_NAMES, "json": JSON_NAMES}[purpose]
        pvar = [n for n in env.of("p") if n != "base"]
        options = [(5, "join"), (2, "f"), (1, "pathlib"), (4 if pvar else 0, "var")]
        form = self.ch.weighted(options)
        name = self.ch.choice(names)
        if form == "var":
            return self.ch.choice(pvar)
        if form == "f":
            return f'f"{{base}}/{name}"'
        if form == "pathlib":
            return f'str(pathlib.Path(base) / "{name}")'
        return f'os.path.join(base, "{name}")'

    def expr(self, env: Env, kind: str, ctx: Ctx, depth: int = 0) -> str:
        ch, opts = self.ch, []
        add = opts.append
        v = self.var(env, kind)
        leaf = depth >= 2
        sub = lambda k: self.expr(env, k, ctx, depth + 1)  # noqa: E731
        if kind == "s":
            add((2, lambda: ch.choice(STR_LITERALS)))
            add((5 if v else 0, lambda: v))
            add((4, lambda: f"open({self.path(env, 'read')}).read()"))
            add((2, lambda: f"pathlib.Path({self.path(env, 'read')}).read_text()"))
            add((0 if leaf else 3, lambda: f"json.dumps({self.any_value(env, ctx, depth)}, indent=2)"))
            add((0 if leaf else 2, lambda: f"{sub('s')}.upper()"))
            add((0 if leaf else 2, lambda: f'{sub("s")} + "!"'))
            add((0 if leaf else 1, lambda: f'str({sub("n")}) + ":" + {sub("s")}'))
            add((0 if leaf else 1, lambda: f"str({sub('n')})"))
            add((1, lambda: self.use("VAR", "VAR.get()")))
            add((3 if self.factory else 0, lambda: ch.choice(("TAG", "str(id)"))))
            add((2 if self.method else 0, lambda: "self.tag"))
            add((2 if self.method and not ctx.nested else 0, lambda: "super().describe()"))
            add((0 if leaf or not self.method else 2, lambda: f"self.__fmt({sub('s')})"))
            add((1 if self.method else 0, lambda: "self.describe()"))
            fns = env.of("fn_s")
            add((2 if fns else 0, lambda: f"{ch.choice(fns)}()"))
            exc = env.of("exc")
            add((3 if exc else 0, lambda: ch.choice((f"type({exc[-1]}).__name__", f"str({exc[-1]})"))))
        elif kind == "n":
            add((2, lambda: str(ch.integer(0, 3))))
            add((5 if v else 0, lambda: v))
            add((3, lambda: f"os.path.getsize({self.path(env, 'read')})"))
            add((2, lambda: f"len(os.listdir({self.ch.choice(('base', self.path(env, 'dir')))}))"))
            add((0 if leaf else 2, lambda: f"len({sub(ch.choice(('s', 'l', 'd')))})"))
            add((0 if leaf else 2, lambda: f"{sub('n')} + {ch.integer(1, 3)}"))
            add((1, lambda: self.use("COUNTER", "COUNTER")))
            add((2 if self.method else 0, lambda: ch.choice(("self.total", "Box.count", "self.count"))))
            add((1 if self.method else 0, lambda: "len(self.seen)"))
            fns = env.of("fn_n")
            add((2 if fns else 0, lambda: f"{ch.choice(fns)}()"))
            add((1 if env.of("q") else 0, lambda: f"{ch.choice(env.of('q'))}.qsize()"))
        elif kind == "ok":
            add((1, lambda: ch.choice(("True", "False"))))
            add((3 if v else 0, lambda: v))
            add((4, lambda: f"os.path.exists({self.path(env, ch.choice(('read', 'write')))})"))
            add((2, lambda: f"pathlib.Path({self.path(env, ch.choice(('read', 'write')))}).exists()"))
            add((1, lambda: f"os.path.isdir({self.path(env, 'dir')})"))
            add((0 if leaf else 3, lambda: f"{sub('n')} > {ch.integer(0, 3)}"))
            add((0 if leaf else 2, lambda: f"{sub('s')} == {ch.choice(STR_LITERALS)}"))
            add((0 if leaf else 2, lambda: f'"a" in {sub("d")}'))
            add((0 if leaf else 1, lambda: f"not {sub('ok')}"))
            add((0 if leaf else 1, lambda: f"bool({sub('l')})"))
            evs = env.of("ev")
            add((2 if evs else 0, lambda: f"{ch.choice(evs)}.is_set()"))
        elif kind == "d":
            add((2, lambda: ch.choice(('{"k": 1}', "[1, 2]", '{"a": [1, "x"]}'))))
            add((4 if v else 0, lambda: v))
            add((4, lambda: f"json.loads({sub(ch.weighted([(6, 's'), (1, 'n')]))})" if not leaf
                 else f"json.loads({ch.choice(STR_LITERALS)})"))
            add((3, lambda: f"json.load(open({self.path(env, 'json')}))"))
            add((1, lambda: "dict(opts)"))
            add((0 if leaf else 2, lambda: f'{{"n": {sub("n")}, "s": {cap(sub("s"))}}}'))
        elif kind == "l":
            add((2, lambda: "[]"))
            add((4 if v else 0, lambda: v))
            add((4, lambda: f"sorted(os.listdir({ch.choice(('base', self.path(env, 'dir')))}))"))
            add((2, lambda: "items[:2]"))
            add((0 if leaf else 2, lambda: f"[{cap(sub('s'))}, {cap(sub('s'))}]"))
            add((0 if leaf else 3, lambda: self.comprehension(env, ctx, depth)))
            gens = env.of("g")
            add((3 if gens else 0, lambda: f"list({ch.choice(gens)})"))
        elif kind == "p":
            add((1, lambda: "base"))
            add((3 if v and v != "base" else 0, lambda: v))
            add((5, lambda: self.path(env, ch.choice(("read", "write", "dir", "json")))))
        else:
            raise AssertionError(kind)
        return ch.weighted(opts)()

    def any_value(self, env, ctx, depth, sink: bool = False) -> str:
        kind = self.ch.choice(("d", "l", "n", "s"))
        value = self.expr(env, kind, ctx, depth + 1)
        return cap(value) if sink and kind == "s" else value  # dicts and lists: built from capped strings

    def use(self, feature: str, text: str) -> str:
        self.mod.used.add(feature)
        return text

    def comprehension(self, env, ctx, depth) -> str:
        ch = self.ch
        form = ch.integer(0, 3)
        src = ch.choice(("sorted(os.listdir(base))", "items[:2]", self.expr(env, "l", ctx, 2)))
        if form == 0:
            return f"[c.upper() for c in {src}]"
        if form == 1:  # a walrus in a comprehension binds in the function: maybe-bound after
            name = self.target(env, "n")
            if name not in env.sure:
                env.maybe[name] = "n"
            return f"[c for c in {src} if ({name} := len(c)) > {ch.integer(0, 4)}]"
        if form == 2:
            return (f"[open(os.path.join(base, c)).read() for c in sorted(os.listdir(base)) "
                    f"if c.endswith({ch.choice(('.txt', '.json'))!r})]")
        return f"[json.dumps(c, indent=2) for c in {src}]"

    # -- simple statements ----------------------------------------------------------------------
    def st_assign(self, out, env, ind, ctx):
        kind = self.ch.weighted([(4, "s"), (3, "n"), (2, "ok"), (3, "d"), (2, "l"), (2, "p")])
        value = self.expr(env, kind, ctx)
        name = self.target(env, kind)
        out.append(f"{ind}{name} = {value}")
        env.bind(name, kind)

    def st_augassign(self, out, env, ind, ctx):
        kind = self.ch.choice(("s", "n", "l"))
        old = env.of(kind) + env.of(kind, maybe=True)
        if not old:
            return self.st_assign(out, env, ind, ctx)
        name = self.ch.choice(old)
        out.append(f"{ind}{name} += {self.expr(env, kind, ctx)}")
        env.bind(name, kind)

    def st_effect(self, out, env, ind, ctx):
        ch = self.ch
        s = lambda: self.expr(env, "s", ctx, 1)  # noqa: E731
        forms = [
            lambda: f"open({self.path(env, 'write')}, {ch.choice(MODES)}).write({cap(s())})",
            lambda: f"pathlib.Path({self.path(env, 'write')}).write_text({cap(s())})",
            lambda: f"os.makedirs({self.path(env, 'dir')}{ch.choice((', exist_ok=True', ''))})",
            lambda: f"os.remove({self.path(env, ch.choice(('read', 'write')))})",
            lambda: f"shutil.copy({self.path(env, 'read')}, {self.path(env, 'write')})",
            lambda: self.use("LOG", f"LOG.append({self.expr(env, ch.choice(('s', 'n')), ctx, 1)})"),
        ]
        out.append(ind + ch.choice(forms)())

    def st_sleep(self, out, env, ind, ctx):
        ch = self.ch
        arg = ch.weighted([(4, "0"), (4, "0.001"), (2, "-1"), (1, "0.0"), (1, "-0.0"), (2, "var")])
        if arg == "var":
            ns = env.of("n")
            arg = f"{ch.choice(ns)} * 0.001" if ns else "0.001"
            if ch.chance(0.3):
                name = self.target(env, "n")
                value = ch.choice(("0", "1", "-1"))
                out.append(f"{ind}{name} = {value if self.mod.negative_sleeps else value.lstrip('-')}")
                env.bind(name, "n")
                arg = f"{name} * 0.001"
        out.append(f"{ind}time.sleep({self.sleep_arg(arg)})")

    def sleep_arg(self, arg: str) -> str:
        if self.mod.negative_sleeps or not arg.startswith("-"):
            return arg
        return {"-1": "0.001", "-0.0": "0.0"}[arg]

    def st_with_open(self, out, env, ind, ctx):
        ch = self.ch
        fh = f"fh{len(out)}"
        if ch.chance(0.5):
            out.append(f"{ind}with open({self.path(env, 'write')}, {ch.choice(MODES)}) as {fh}:")
            if ch.chance(0.4):
                out.append(f"{ind}    json.dump({self.any_value(env, ctx, 0, sink=True)}, {fh}, indent=2)")
            else:
                out.append(f"{ind}    {fh}.write({cap(self.expr(env, 's', ctx, 1))})")
        else:
            out.append(f"{ind}with open({self.path(env, ch.choice(('read', 'json')))}) as {fh}:")
            if ch.chance(0.5):
                name, kind, value = self.target(env, "s"), "s", f"{fh}.read()"
            else:
                name, kind, value = self.target(env, "d"), "d", f"json.load({fh})"
            out.append(f"{ind}    {name} = {value}")
            env.bind(name, kind)
        if ch.chance(0.3):
            self.budget -= 1
            self.statement(out, env, ind + "    ", Ctx(**{**ctx.__dict__, "depth": ctx.depth + 1}))

    def st_global(self, out, env, ind, ctx):
        if self.global_counter:
            out.append(f"{ind}COUNTER += {self.expr(env, 'n', ctx, 1)}")
        else:  # mutated in place: no declaration needed
            self.use("LOG", "")
            out.append(f"{ind}LOG.append({self.expr(env, 's', ctx, 1)})")

    def st_read_maybe(self, out, env, ind, ctx):
        """Read a name bound on some paths only: after a loop, a swallowing with, in a handler."""
        # values only: str() of a task or a function shows process-wide counters and qualnames
        name = self.ch.choice(sorted(n for n, k in env.maybe.items() if k in VALUE_TYPES))
        if self.ch.chance(0.5):
            out.append(f"{ind}items.append(str({name}))")
        else:
            target = self.target(env, "s")
            out.append(f"{ind}{target} = str({name})")
            env.bind(target, "s")

    def st_param(self, out, env, ind, ctx):
        ch = self.ch
        form = ch.integer(0, 4)
        if form == 0:
            out.append(f"{ind}items.append({cap(self.expr(env, 's', ctx, 1))})")
        elif form == 1:
            # a slice: 20 concurrent calls extending items by a copy of items would double it 20 times
            out.append(f"{ind}items.extend({self.expr(env, 'l', ctx, 1)}[:3])")
        elif form == 2:
            out.append(f"{ind}opts[{ch.choice(KEYS)}] = {self.any_value(env, ctx, 0, sink=True)}")
        elif form == 3:
            out.append(f"{ind}opts.update({self.expr(env, 'd', ctx, 1)})")
        else:
            out.append(f"{ind}opts.pop(\"k\", None)")

    def st_self(self, out, env, ind, ctx):
        ch = self.ch
        form = ch.integer(0, 7)
        if form == 0:
            out.append(f"{ind}self.total += {self.expr(env, 'n', ctx, 1)}")
        elif form == 1:
            out.append(f"{ind}self.tag = {cap(self.expr(env, 's', ctx, 1))}")
        elif form == 2:
            out.append(f"{ind}self.seen.append({self.expr(env, 's', ctx, 1)})")
        elif form == 3:
            out.append(f"{ind}{ch.choice(('Box.count', 'type(self).count', 'self.count'))} += 1")
        elif form == 4:
            name = self.target(env, "s")
            out.append(f"{ind}{name} = self.__fmt({self.expr(env, 's', ctx, 1)})")
            env.bind(name, "s")
        elif form == 5:
            name = self.target(env, "s")
            out.append(f"{ind}{name} = super().describe() + {self.expr(env, 's', ctx, 1)}")
            env.bind(name, "s")
        elif form == 6:
            out.append(f"{ind}self.data = json.load(open({self.path(env, 'json')}))")
        else:
            out.append(f"{ind}self.seen.extend(sorted(os.listdir(base)))")

    def st_asyncio(self, out, env, ind, ctx):
        ch = self.ch
        form = ch.integer(0, 7)
        if form == 0:
            q = self.var(env, "q")
            if q is None:
                q = self.new("q")
                out.append(f"{ind}{q} = asyncio.Queue()")
                env.bind(q, "q")
            out.append(f"{ind}{q}.put_nowait({self.expr(env, 's', ctx, 1)})")
        elif form == 1:
            q = self.var(env, "q")
            if q is None:
                return self.st_asyncio(out, env, ind, ctx)
            name = self.target(env, "s")
            out.append(f"{ind}{name} = {q}.get_nowait()")
            env.bind(name, "s")
        elif form == 2:
            ev = self.new("ev")
            out.append(f"{ind}{ev} = asyncio.Event()")
            env.bind(ev, "ev")
            if ch.chance(0.6):
                out.append(f"{ind}{ev}.set()")
        elif form == 3:
            t = self.new("task")
            self.use("small", "")
            out.append(f"{ind}{t} = asyncio.create_task(small({self.expr(env, 'n', ctx, 1)}))")
            env.bind(t, "task")
        elif form == 4:
            ts = env.of("task")
            if not ts:
                return self.st_asyncio(out, env, ind, ctx)
            name = self.target(env, "n")
            out.append(f"{ind}{name} = await {ch.choice(ts)}")
            env.bind(name, "n")
        elif form == 5:
            self.use("small", "")
            name = self.target(env, "n")
            out.append(f"{ind}{name} = sum(await asyncio.gather(small(1), small({self.expr(env, 'n', ctx, 1)})))")
            env.bind(name, "n")
        elif form == 6:
            loop = self.new("loop")
            self.use("LOG", "")
            out.append(f"{ind}{loop} = asyncio.get_running_loop()")
            out.append(f"{ind}{loop}.call_soon(LOG.append, {self.expr(env, 's', ctx, 1)})")
            env.bind(loop, "loop")
        else:
            fut = self.new("fut")
            self.use("small", "")
            out.append(f"{ind}{fut} = asyncio.gather(small(2), small({self.expr(env, 'n', ctx, 1)}))")
            env.bind(fut, "fut")
            name = self.target(env, "n")
            out.append(f"{ind}{name} = sum(await {fut})")
            env.bind(name, "n")

    def st_contextvar(self, out, env, ind, ctx):
        self.use("VAR", "")
        ch = self.ch
        toks = env.of("tok")
        form = ch.weighted([(4, "set"), (2, "get"), (2 if toks else 0, "reset")])
        if form == "set":
            tok = self.new("tok")
            out.append(f"{ind}{tok} = VAR.set({self.expr(env, 's', ctx, 1)})")
            env.bind(tok, "tok")
        elif form == "get":
            name = self.target(env, "s")
            out.append(f"{ind}{name} = VAR.get()")
            env.bind(name, "s")
        else:
            out.append(f"{ind}VAR.reset({ch.choice(toks)})")

    def st_await(self, out, env, ind, ctx):
        ch = self.ch
        callees = list(self.mod.callees)  # written before this one: the calls cannot cycle
        form = ch.weighted([(3, "sleep0"), (2, "small"), (4 if callees else 0, "callee")])
        if form == "sleep0":
            out.append(f"{ind}await asyncio.sleep(0)")
        elif form == "small":
            self.use("small", "")
            name = self.target(env, "n")
            out.append(f"{ind}{name} = await small({self.expr(env, 'n', ctx, 1)})")
            env.bind(name, "n")
        else:
            call, ret = ch.choice(callees)
            name = self.target(env, ret)
            out.append(f"{ind}{name} = await {call}")
            env.bind(name, ret)

    def st_early_return(self, out, env, ind, ctx):
        value = self.return_value(env, ctx)
        out.append(f"{ind}if {self.expr(env, 'ok', ctx)}:")
        out.append(f"{ind}    return {value}")

    def return_value(self, env, ctx) -> str:
        kind = ctx.ret if ctx.ret != "any" else self.ch.choice(("s", "n", "d", "l"))
        return self.expr(env, kind, ctx, 1)

    def st_jump(self, out, env, ind, ctx):
        jump = self.ch.choice(("break", "continue"))
        if self.ch.chance(0.7):
            out.append(f"{ind}if {self.expr(env, 'ok', ctx)}:")
            out.append(f"{ind}    {jump}")
            return False
        out.append(f"{ind}{jump}")
        return True

    def st_walrus(self, out, env, ind, ctx):
        kind = self.ch.choice(("s", "n", "d"))
        name = self.target(env, kind)
        test = f"({name} := {self.expr(env, kind, ctx)})"
        if kind == "n":
            test = f"{test} > {self.ch.integer(0, 3)}"
        out.append(f"{ind}if {test}:")
        inner = env.copy()
        inner.bind(name, kind)
        terminated = self.sub(out, inner, ind, ctx)
        new = merge(env, [(inner, terminated), (env.copy(), False)])
        env.sure, env.maybe = new.sure, new.maybe
        env.bind(name, kind)  # the condition always ran

    # -- compound statements --------------------------------------------------------------------
    def st_if(self, out, env, ind, ctx):
        ch = self.ch
        branches = []
        out.append(f"{ind}if {self.expr(env, 'ok', ctx)}:")
        e = env.copy()
        branches.append((e, self.sub(out, e, ind, ctx)))
        for _ in range(ch.weighted([(3, 0), (1, 1), (1, 2)])):
            out.append(f"{ind}elif {self.expr(env, 'ok', ctx)}:")
            e = env.copy()
            branches.append((e, self.sub(out, e, ind, ctx)))
        if ch.chance(0.5):
            out.append(f"{ind}else:")
            e = env.copy()
            branches.append((e, self.sub(out, e, ind, ctx)))
        else:
            branches.append((env.copy(), False))
        new = merge(env, branches)
        env.sure, env.maybe = new.sure, new.maybe
        return all(t for _, t in branches)

    def st_for(self, out, env, ind, ctx):
        ch = self.ch
        form = ch.integer(0, 3)
        if form == 0:
            kind, it = "n", f"range({ch.integer(0, 3)})"
        elif form == 1:
            kind, it = "s", "sorted(os.listdir(base))"
        elif form == 2:
            kind, it = "s", f"list({self.expr(env, 'l', ctx, 1)})"  # a copy: the body may grow it
        else:
            gens = env.of("g")
            kind, it = "s", (ch.choice(gens) if gens else "items[:2]")
        name = self.target(env, kind)
        out.append(f"{ind}for {name} in {it}:")
        body = env.copy()
        body.bind(name, kind)
        self.sub(out, body, ind, ctx, in_loop=True)
        body.demote(env)  # the loop may run no time
        if ch.chance(0.3):
            out.append(f"{ind}else:")
            after = body.copy()
            self.sub(out, after, ind, ctx)
            body = merge(env, [(after, False), (body, False)])
        env.sure, env.maybe = body.sure, {**body.maybe, **env.maybe}

    def st_while(self, out, env, ind, ctx):
        w = self.new("w")
        out.append(f"{ind}{w} = 0")
        env.bind(w, "w")
        out.append(f"{ind}while {w} < {self.ch.integer(1, 3)}:")
        out.append(f"{ind}    {w} += 1")  # first, so `continue` cannot skip it
        body = env.copy()
        self.sub(out, body, ind, ctx, in_loop=True)
        body.demote(env)
        if self.ch.chance(0.3):
            out.append(f"{ind}else:")
            self.sub(out, body, ind, ctx)
        env.sure, env.maybe = body.sure, {**body.maybe, **env.maybe}

    def st_try(self, out, env, ind, ctx):
        ch = self.ch
        out.append(f"{ind}try:")
        body = env.copy()
        body_term = self.sub(out, body, ind, ctx)
        partial = body.copy()
        partial.demote(env)  # the body may have raised anywhere
        branches = []
        n_handlers = ch.weighted([(1, 0), (6, 1), (2, 2)])
        has_finally = n_handlers == 0 or ch.chance(0.35)
        for excepts in [ch.choice(EXCEPTS) for _ in range(n_handlers)]:
            handler = partial.copy()
            if ch.chance(0.6):
                err = self.new("exc")
                out.append(f"{ind}except {excepts} as {err}:")
                handler.bind(err, "exc")
            else:
                err = None
                out.append(f"{ind}except {excepts}:")
            term = self.handler(out, handler, ind + "    ", ctx, err)
            if err:
                handler.sure.pop(err, None)  # `except ... as e` unbinds e afterwards
            branches.append((handler, term))
        if n_handlers and ch.chance(0.3):
            out.append(f"{ind}else:")
            body_term = self.sub(out, body, ind, ctx)
        branches.insert(0, (body, body_term))
        after = merge(env, branches)
        if has_finally:
            out.append(f"{ind}finally:")
            fin = merge(env, [(partial, False)] + branches)
            fin_term = self.sub(out, fin, ind, ctx)
            for name, kind in fin.sure.items():
                if name not in env.sure:
                    after.bind(name, kind)
            if fin_term:
                env.sure, env.maybe = after.sure, after.maybe
                return True
        env.sure, env.maybe = after.sure, after.maybe
        return all(t for _, t in branches)

    def handler(self, out, env, ind, ctx, err) -> bool:
        ch = self.ch
        form = ch.weighted([(3, "swallow"), (3, "record"), (2, "reraise"), (2, "return"),
                            (2, "raise_new"), (3, "statements")])
        if form == "swallow":
            out.append(f"{ind}pass")
        elif form == "record":
            name = self.target(env, "s")
            value = f"type({err}).__name__ + ':' + str({err})" if err else self.expr(env, "s", ctx, 1)
            out.append(f"{ind}{name} = {value}")
            env.bind(name, "s")
        elif form == "reraise":
            out.append(f"{ind}raise")
            return True
        elif form == "return":
            out.append(f"{ind}return {self.return_value(env, ctx)}")
            return True
        elif form == "raise_new":
            cause = f" from {err}" if err and ch.chance(0.5) else ""
            what = f"type({err}).__name__" if err else '"failed"'
            out.append(f'{ind}raise RuntimeError("wrapped: " + {what}){cause}')
            return True
        else:
            return self.block(out, env, ind, Ctx(**{**ctx.__dict__, "depth": ctx.depth + 1}))
        return False

    def st_swallowing_with(self, out, env, ind, ctx):
        ch = self.ch
        if ch.chance(0.5):
            out.append(f"{ind}with contextlib.suppress({ch.choice(EXCEPTS).strip('()')}):")
        else:
            self.use("Quiet", "")
            out.append(f"{ind}with Quiet():")
        body = env.copy()
        self.sub(out, body, ind, ctx)
        body.demote(env)  # the body may stop anywhere and the with goes on
        env.sure, env.maybe = body.sure, {**body.maybe, **env.maybe}

    def st_lock(self, out, env, ind, ctx):
        self.use("LOCK", "")
        out.append(f"{ind}with LOCK:")
        sub = env.copy()
        inner = len(out)
        term = self.sub(out, sub, ind, ctx, no_await=True, in_lock=True)
        if self.ch.chance(0.7):  # a sleep under the lock: the rewrite must not await there
            body = ind + "    "
            starts = [i for i in range(inner, len(out)) if out[i].startswith(body)
                      and not out[i][len(body)].isspace()
                      and not out[i][len(body):].startswith(("elif ", "else:", "except", "finally:"))]
            at = self.ch.choice(starts + [len(out)])
            out.insert(at, f"{body}time.sleep(0.001)")
        env.sure, env.maybe = sub.sure, sub.maybe
        return term

    def st_closure(self, out, env, ind, ctx):
        ch = self.ch
        form = ch.integer(0, 3)
        kind = ch.choice(("fn_s", "fn_n"))
        name = self.new(kind)
        inner = Ctx(is_async=False, no_await=True, nested=True, depth=2)
        if form == 0:  # a lambda reading locals when called, not when defined
            out.append(f"{ind}{name} = lambda: {self.expr(env, kind[3:], inner, 1)}")
        elif form == 1:
            out.append(f"{ind}def {name}():")
            out.append(f"{ind}    return {self.expr(env, kind[3:], inner, 1)}")
        else:
            ns = env.of("n")
            if not ns:
                return self.st_assign(out, env, ind, ctx)
            kind = "fn_n"
            target = ch.choice(ns)
            out.append(f"{ind}def {name}():")
            out.append(f"{ind}    nonlocal {target}")
            out.append(f"{ind}    {target} += {ch.choice(('1', 'len(os.listdir(base))'))}")
            out.append(f"{ind}    return {target}")
        env.bind(name, kind)

    def st_generator(self, out, env, ind, ctx):
        ch = self.ch
        name = self.new("g")
        form = ch.integer(0, 3)
        s = self.var(env, "s") or '"x"'
        if form == 0:  # lazy json.loads: runs, and raises, where it is consumed
            out.append(f"{ind}{name} = (json.dumps(json.loads(c)) for c in [{s}, {self.expr(env, 's', ctx, 1)}])")
        elif form == 1:  # reads a local when consumed
            out.append(f"{ind}{name} = (c + {s} for c in {ch.choice(('items[:2]', 'sorted(os.listdir(base))'))})")
        elif form == 2:
            out.append(f"{ind}{name} = (open(os.path.join(base, c)).read() for c in "
                       f"sorted(os.listdir(base)) if c.endswith(\".txt\"))")
        else:
            fn = self.new("gen")
            out.append(f"{ind}def {fn}():")
            out.append(f"{ind}    for c in sorted(os.listdir(base)):")
            out.append(f"{ind}        yield c + {s}")
            out.append(f"{ind}{name} = {fn}()")
        env.bind(name, "g")
        if ch.chance(0.5):  # consume it now; otherwise a later statement may
            self.budget -= 1
            self.st_consume(out, env, ind, ctx, name)

    def st_consume(self, out, env, ind, ctx, gen):
        ch = self.ch
        if ch.chance(0.5):
            name = self.target(env, "l")
            out.append(f"{ind}{name} = list({gen})")
            env.bind(name, "l")
        else:
            name = self.target(env, "s")
            out.append(f"{ind}{name} = next({gen}, \"none\")")
            env.bind(name, "s")

    def st_nested_coroutine(self, out, env, ind, ctx):
        name = self.new("fn_s")
        inner_env = env.copy()
        out.append(f"{ind}async def {name}():")
        ns = env.of("n")
        body_ind = ind + "    "
        if ns and self.ch.chance(0.5):
            target = self.ch.choice(ns)
            out.append(f"{body_ind}nonlocal {target}")
            out.append(f"{body_ind}{target} += os.path.getsize({self.path(env, 'read')})")
        value = self.expr(inner_env, "s", Ctx(nested=True, depth=2), 1)
        out.append(f"{body_ind}{self.new('s')} = open({self.path(env, 'read')}).read()")
        out.append(f"{body_ind}return {value}")
        result = self.target(env, "s")
        out.append(f"{ind}{result} = await {name}()")
        env.bind(result, "s")

    def st_template(self, out, env, ind, ctx):
        """Whole shapes that are hazards together rather than statement by statement."""
        ch = self.ch
        form = ch.integer(0, 4)
        if form == 0:  # check-then-act on a file
            p = self.path(env, "write")
            out.append(f"{ind}if not os.path.exists({p}):")
            out.append(f"{ind}    with open({p}, \"w\") as fh:")
            out.append(f"{ind}        fh.write({cap(self.expr(env, 's', ctx, 1))})")
            name = self.target(env, "s")
            out.append(f"{ind}{name} = open({p}).read()")
            env.bind(name, "s")
        elif form == 1:  # read-modify-write counter file: atomic on the loop, a race in threads
            name = self.target(env, "n")
            cnt = 'os.path.join(base, "count.txt")'
            out.append(f"{ind}{name} = int(open({cnt}).read()) if os.path.exists({cnt}) else 0")
            if ch.chance(0.5):
                out.append(f"{ind}time.sleep(0.001)")
            out.append(f"{ind}with open({cnt}, \"w\") as fh:")
            out.append(f"{ind}    fh.write(str({name} + 1))")
            env.bind(name, "n")
        elif form == 2 and not ctx.no_await:  # a waiter on the loop, set next to blocking work
            ev, t = self.new("ev"), self.new("task")
            out.append(f"{ind}{ev} = asyncio.Event()")
            out.append(f"{ind}{t} = asyncio.create_task({ev}.wait())")
            out.append(f"{ind}await asyncio.sleep(0)")
            out.append(f"{ind}open({self.path(env, 'write')}, \"w\").write({cap(self.expr(env, 's', ctx, 1))})")
            out.append(f"{ind}{ev}.set()")
            name = self.target(env, "ok")
            out.append(f"{ind}{name} = await {t}")
            env.bind(ev, "ev")
            env.bind(name, "ok")
        elif form == 3 and not ctx.no_await:  # a getter waiting on a queue
            q, t = self.new("q"), self.new("task")
            out.append(f"{ind}{q} = asyncio.Queue()")
            out.append(f"{ind}{t} = asyncio.create_task({q}.get())")
            out.append(f"{ind}await asyncio.sleep(0)")
            out.append(f"{ind}{q}.put_nowait(open({self.path(env, 'read')}).read())")
            name = self.target(env, "s")
            out.append(f"{ind}{name} = await {t}")
            env.bind(q, "q")
            env.bind(name, "s")
        else:  # bound inside a try that swallows, read after it
            name = self.target(env, "s")
            out.append(f"{ind}try:")
            out.append(f"{ind}    {name} = open({self.path(env, 'read')}).read()")
            d = self.target(env, "d")
            out.append(f"{ind}    {d} = json.loads({name})")
            out.append(f"{ind}except {ch.choice(EXCEPTS)}:")
            out.append(f"{ind}    pass")
            for n, k in ((name, "s"), (d, "d")):
                if n not in env.sure:
                    env.maybe[n] = k
            after = self.new("s")
            out.append(f"{ind}{after} = str({name})")
            env.bind(after, "s")
