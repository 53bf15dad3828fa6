"""subprocess: child processes started or awaited on the loop."""

from asyncfix.catalog import Category, Doc, Rule, Types

SPAWN = tuple(f"os.spawn{s}" for s in ("l", "le", "lp", "lpe", "v", "ve", "vp", "vpe"))

CATEGORY = Category(
    name="subprocess",
    section="-",
    title="Subprocesses on the event loop",
    doc=Doc(
        what="Flags `subprocess.*` (`run`, `call`, `check_output`, `Popen` and its `wait`/"
        "`communicate`), `os.system`, `os.popen`, `os.spawn*`, `os.posix_spawn*` and "
        "`os.wait*` inside `async def`.",
        why="Starting a process forks and execs on the loop; waiting for it (`run`, "
        "`check_output`, `wait`) blocks for the child's whole run time.",
        example="async def convert(path: str):\n"
        "    subprocess.run(['libreoffice', '--convert-to', 'pdf', path], check=True)",
        instead="`await asyncio.to_thread(subprocess.run, ...)` keeps exactly the same "
        "semantics; `asyncio.create_subprocess_exec` is the native alternative where its "
        "different API is acceptable.",
        fix_safety="Safe through `asyncio.to_thread`: the same call, arguments, return value and "
        "exceptions, from a worker thread.",
        imports="import subprocess",
    ),
    rules=(
        Rule(
            code="AF511",
            message="`{name}` runs a subprocess and waits for it on the event loop",
            functions=("subprocess.run", "subprocess.call", "subprocess.check_call",
                       "subprocess.check_output", "subprocess.getoutput",
                       "subprocess.getstatusoutput", "os.system", "os.posix_spawn",
                       "os.posix_spawnp"),
            methods={"subprocess.Popen": ("wait", "communicate")},
            upstream=("ASYNC221",),
            nonblocking_args={"wait": (0, "timeout")},  # proc.wait(timeout=0) polls
        ),
        Rule(
            code="AF512",
            message="`{name}` starts a subprocess on the event loop",
            functions=("subprocess.Popen", "os.popen") + SPAWN,
            upstream=("ASYNC220", "ASYNC221"),
        ),
        Rule(
            code="AF513",
            message="`{name}` waits for a child process on the event loop",
            functions=("os.wait", "os.wait3", "os.wait4", "os.waitid", "os.waitpid"),
            upstream=("ASYNC222",),
            nonblocking_flag="WNOHANG",  # os.waitpid(pid, os.WNOHANG) polls
        ),
    ),
    types=Types(returns={"subprocess.Popen": "subprocess.Popen"}),
)
