"""threading: waiting on thread primitives from the loop."""

from asyncfix.catalog import Category, Doc, Rule, Types

LOCKS = ("threading.Lock", "threading.RLock", "threading.Semaphore", "threading.BoundedSemaphore",
         "threading.Condition")
QUEUES = ("queue.Queue", "queue.LifoQueue", "queue.PriorityQueue")
THREADSAFE_FUTURE = "asyncio.ThreadsafeFuture"  # what run_coroutine_threadsafe returns

CATEGORY = Category(
    name="threading",
    section="-",
    title="Waiting on threads and thread primitives",
    doc=Doc(
        what="Flags waits on thread primitives inside `async def`: `acquire`/`wait` on "
        "`threading` locks, conditions, events and barriers, `Thread.join`, `queue.Queue.get`/"
        "`put`/`join`, and `concurrent.futures.Future.result`, including the future of "
        "`asyncio.run_coroutine_threadsafe` (on the loop it was handed to, a deadlock). Calls that return at once are not: "
        "`block=False`/`blocking=False`, a zero timeout, `executor.shutdown(wait=False)`, "
        "`SimpleQueue.put` (the queue is unbounded).",
        why="These park the calling thread until another thread acts. On the loop they park the "
        "loop, and deadlock it when the other party needs the loop to make progress.",
        example="async def handler(q: queue.Queue):\n"
        "    item = q.get()",
        instead="Use asyncio primitives (`asyncio.Lock`, `asyncio.Queue`), `asyncio.wrap_future` "
        "for futures, or wait in a thread with `asyncio.to_thread(q.get)`.",
        fix_safety="Waits on events, queues, threads and futures are safe through "
        "`asyncio.to_thread`. Lock acquisition is not fixed: a lock acquired in a worker thread "
        "is owned by that thread.",
        imports="import queue",
    ),
    rules=(
        Rule(
            code="AF621",
            message="`{name}` acquires a thread lock on the event loop",
            methods={lock: ("acquire", "acquire_lock", "wait", "wait_for") for lock in LOCKS},
            unfixable="a thread lock acquired in a worker thread would be owned by that thread",
            nonblocking_kwargs=("blocking", "timeout"),
            # acquire(blocking, timeout), Condition.wait(timeout), wait_for(predicate, timeout)
            nonblocking_args={"acquire": (0, 1), "acquire_lock": (0, 1), "wait": (0,),
                              "wait_for": (1,)},
        ),
        Rule(
            code="AF622",
            message="`{name}` waits for another thread on the event loop",
            methods={
                "threading.Event": ("wait",),
                "threading.Barrier": ("wait",),
                "threading.Thread": ("join",),
                "concurrent.futures.Future": ("result", "exception"),
                "concurrent.futures.ThreadPoolExecutor": ("shutdown",),
                "concurrent.futures.ProcessPoolExecutor": ("shutdown",),
                **{q: ("get", "put", "join") for q in QUEUES},
                "queue.SimpleQueue": ("get",),  # unbounded: its put never waits
            },
            # shutdown(wait=False) returns at once; so do waits with block=False or a zero timeout
            nonblocking_kwargs=("block", "timeout", "wait"),
            nonblocking_args={"get": (0, 1), "put": (1, 2), "wait": (0,), "join": (0,),
                              "result": (0,), "exception": (0,), "shutdown": (0,)},
        ),
        Rule(
            code="AF623",
            message="`{name}` waits on the event loop for a coroutine handed to a loop: on that loop it deadlocks",
            methods={THREADSAFE_FUTURE: ("result", "exception")},
            nonblocking_kwargs=("timeout",),
            nonblocking_args={"result": (0,), "exception": (0,)},
            unfixable="`run_coroutine_threadsafe(...).result()` in a coroutine waits for a coroutine that "
            "needs a loop; where it is this loop, the loop can never run it. `await` the coroutine itself",
        ),
    ),
    types=Types(
        returns={
            **{t: t for t in LOCKS + QUEUES + ("queue.SimpleQueue", "threading.Event",
                                               "threading.Barrier", "threading.Thread")},
            "concurrent.futures.ThreadPoolExecutor.submit": "concurrent.futures.Future",
            "concurrent.futures.ProcessPoolExecutor.submit": "concurrent.futures.Future",
            "asyncio.run_coroutine_threadsafe": THREADSAFE_FUTURE,
            "asyncio.tasks.run_coroutine_threadsafe": THREADSAFE_FUTURE,
            "concurrent.futures.ThreadPoolExecutor": "concurrent.futures.ThreadPoolExecutor",
            "concurrent.futures.ProcessPoolExecutor": "concurrent.futures.ProcessPoolExecutor",
        },
        annotations={"concurrent.futures._base.Future": "concurrent.futures.Future"},
    ),
)
