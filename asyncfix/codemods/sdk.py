"""sdk: sync SDK clients of web services in async code (checklist 1.4B)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

OPENAI, OPENAI_RESOURCE = "openai.OpenAI", "openai.Resource"
ANTHROPIC, ANTHROPIC_RESOURCE = "anthropic.Anthropic", "anthropic.Resource"
BOTO_CLIENT, BOTO_SESSION, BOTO_RESOURCE = "boto3.Client", "boto3.Session", "boto3.Resource"
REDIS, REDIS_PIPELINE = "redis.Redis", "redis.Pipeline"
MONGO, MONGO_DB, MONGO_COLLECTION = "pymongo.MongoClient", "pymongo.Database", "pymongo.Collection"

CATEGORY = Category(
    name="sdk",
    section="1.4B",
    title="Sync SDK clients of web services",
    doc=Doc(
        what="Flags calls through the sync clients of web-service SDKs inside `async def`: "
        "OpenAI and Anthropic (`client.chat.completions.create(...)`, "
        "`client.messages.create(...)`), boto3 (`boto3.client(...)`, its methods, resources and "
        "sessions), redis-py (`r.get(...)`, a pipeline's `execute()`) and pymongo "
        "(`client.db.coll.find_one(...)`).",
        why="Each call is a synchronous network round trip (seconds for a model's answer) that "
        "holds the loop for its whole latency; every request, heartbeat and health check waits.",
        example="async def summarize(text: str):\n"
        "    client = OpenAI()\n"
        "    reply = client.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', 'content': text}])\n"
        "    return reply.choices[0].message.content",
        instead="The SDK's async client: `AsyncOpenAI`, `AsyncAnthropic`, aioboto3, "
        "`redis.asyncio.Redis`, `pymongo.AsyncMongoClient` (or motor); or the call in "
        "`asyncio.to_thread`.",
        fix_safety="Safe where applied: the call runs in a worker thread. The OpenAI, Anthropic "
        "and boto3 clients, redis-py clients and `MongoClient` are safe to use from several "
        "threads at once, so their calls move one by one. boto3 sessions and resources and "
        "redis pipelines are not: their calls move only on an object the coroutine made itself "
        "(one thread at a time, each call awaited); one made elsewhere stays, with the reason and "
        "the async client to use.",
        imports="from openai import OpenAI",
    ),
    rules=(
        Rule(
            code="AF421",
            message="`{name}` calls a model API synchronously on the event loop",
            methods={OPENAI_RESOURCE: (ANY,), ANTHROPIC_RESOURCE: (ANY,)},
            exclude=("with_raw_response", "with_streaming_response", "with_options", "copy"),
        ),
        Rule(
            # creating a client reads the service's model files from disk (tens of ms)
            code="AF422",
            message="`{name}` makes a synchronous AWS call on the event loop",
            functions=("boto3.client", "boto3.resource"),
            methods={BOTO_CLIENT: (ANY,)},
            exclude=("get_paginator", "get_waiter", "can_paginate", "close"),
        ),
        Rule(
            code="AF422",
            message="`{name}` makes a synchronous AWS call on the event loop",
            methods={BOTO_SESSION: ("client", "resource"), BOTO_RESOURCE: (ANY,)},
            # sub-resources are made locally, loaded on first use
            exclude=("Bucket", "Object", "ObjectSummary", "Queue", "Table", "Topic", "Instance",
                     "Vpc", "Subnet", "Image", "User", "Role", "meta"),
            thread_safe=False,
        ),
        Rule(
            code="AF423",
            message="`{name}` makes a synchronous Redis call on the event loop",
            methods={REDIS: (ANY,)},
            exclude=("pipeline", "pubsub", "lock", "close", "get_connection_kwargs", "get_encoder"),
        ),
        Rule(
            code="AF423",
            message="`{name}` makes a synchronous Redis call on the event loop",
            methods={REDIS_PIPELINE: ("execute",)},
            thread_safe=False,
        ),
        Rule(
            code="AF424",
            message="`{name}` makes a synchronous MongoDB call on the event loop",
            methods={MONGO_COLLECTION: (ANY,), MONGO_DB: ("command", "list_collection_names",
                                                          "create_collection", "drop_collection"),
                     MONGO: ("list_database_names", "server_info", "drop_database")},
            exclude=("with_options", "watch"),
        ),
    ),
    types=Types(
        returns={
            "openai.OpenAI": OPENAI, "openai.AzureOpenAI": OPENAI, "openai.Client": OPENAI,
            "anthropic.Anthropic": ANTHROPIC, "anthropic.Client": ANTHROPIC,
            "anthropic.AnthropicBedrock": ANTHROPIC, "anthropic.AnthropicVertex": ANTHROPIC,
            "boto3.client": BOTO_CLIENT, "boto3.resource": BOTO_RESOURCE,
            "boto3.Session": BOTO_SESSION, "boto3.session.Session": BOTO_SESSION,
            f"{BOTO_SESSION}.client": BOTO_CLIENT, f"{BOTO_SESSION}.resource": BOTO_RESOURCE,
            f"{BOTO_RESOURCE}.*": BOTO_RESOURCE,  # s3.Bucket("b").Object("k")
            "redis.Redis": REDIS, "redis.StrictRedis": REDIS, "redis.from_url": REDIS,
            "redis.Redis.from_url": REDIS, "redis.client.Redis": REDIS,
            f"{REDIS}.pipeline": REDIS_PIPELINE,
            "pymongo.MongoClient": MONGO, "pymongo.mongo_client.MongoClient": MONGO,
            f"{MONGO}.get_database": MONGO_DB, f"{MONGO_DB}.get_collection": MONGO_COLLECTION,
        },
        attributes={
            f"{OPENAI}.*": OPENAI_RESOURCE, f"{OPENAI_RESOURCE}.*": OPENAI_RESOURCE,
            f"{ANTHROPIC}.*": ANTHROPIC_RESOURCE, f"{ANTHROPIC_RESOURCE}.*": ANTHROPIC_RESOURCE,
            f"{MONGO}.*": MONGO_DB, f"{MONGO_DB}.*": MONGO_COLLECTION,
        },
        fresh=frozenset({REDIS_PIPELINE}),  # a pipeline buffers for the coroutine that made it
        annotations={"openai.OpenAI": OPENAI, "anthropic.Anthropic": ANTHROPIC, "redis.Redis": REDIS,
                     "redis.client.Redis": REDIS, "pymongo.MongoClient": MONGO,
                     "pymongo.collection.Collection": MONGO_COLLECTION,
                     "pymongo.database.Database": MONGO_DB},
    ),
)
