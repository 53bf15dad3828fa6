"""sdk: sync SDK clients of web services in async code (checklist 1.4B)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

OPENAI, OPENAI_RESOURCE = "openai.OpenAI", "openai.Resource"
ANTHROPIC, ANTHROPIC_RESOURCE = "anthropic.Anthropic", "anthropic.Resource"
BOTO_CLIENT, BOTO_SESSION, BOTO_RESOURCE = "boto3.Client", "boto3.Session", "boto3.Resource"
REDIS, REDIS_PIPELINE = "redis.Redis", "redis.Pipeline"
MONGO, MONGO_DB, MONGO_COLLECTION = "pymongo.MongoClient", "pymongo.Database", "pymongo.Collection"
WEAVIATE, WEAVIATE_COLLECTIONS = "weaviate.WeaviateClient", "weaviate.WeaviateClient.collections"
WEAVIATE_COLLECTION = "weaviate.collections.Collection"
# a collection's namespaces (`collection.query.near_text(...)`) and the client's: all send requests
WEAVIATE_NAMESPACES = {f"{WEAVIATE_COLLECTION}.{name}": f"{WEAVIATE_COLLECTION}.{name}"
                       for name in ("query", "data", "aggregate", "generate", "tenants", "config")}
WEAVIATE_NAMESPACES.update({f"{WEAVIATE}.{name}": f"{WEAVIATE}.{name}" for name in ("backup", "cluster")})
WEAVIATE_CONNECT = tuple(f"weaviate.connect_to_{where}" for where in (
    "local", "wcs", "weaviate_cloud", "custom", "embedded"))
# a discovery `Resource`, its sub-resources and the `HttpRequest`s its methods make are one type:
# only `execute()` / `next_chunk()` send anything
GOOGLE, GOOGLE_DOWNLOAD = "googleapiclient.discovery.Resource", "googleapiclient.http.MediaIoBaseDownload"
GOOGLE_ELSEWHERE = ("googleapiclient sends every request of a service through the service's `httplib2.Http`, "
                    "which is not thread-safe, and this one is built outside this coroutine (others may use it "
                    "too): build a service (or an `httplib2.Http`, `execute(http=...)`) per thread, or use aiogoogle")
ES, ES_NAMESPACE = "elasticsearch.Elasticsearch", "elasticsearch.NamespacedClient"
OPENSEARCH, OPENSEARCH_NAMESPACE = "opensearchpy.OpenSearch", "opensearchpy.NamespacedClient"
ES_HELPERS = ("elasticsearch.helpers", "opensearchpy.helpers")

CATEGORY = Category(
    name="sdk",
    section="1.4B",
    title="Sync SDK clients of web services",
    doc=Doc(
        what="Flags calls through the sync clients of web-service SDKs inside `async def`: "
        "OpenAI and Anthropic (`client.chat.completions.create(...)`, "
        "`client.messages.create(...)`), boto3 (`boto3.client(...)`, its methods, resources and "
        "sessions), redis-py (`r.get(...)`, a pipeline's `execute()`), pymongo "
        "(`client.db.coll.find_one(...)`), the Weaviate v4 client (`weaviate.connect_to_local()`, "
        "`collection.query.near_text(...)`, `collection.data.insert(...)`; not `client.collections.get`, "
        "which makes the collection object locally), the Google API client (`build(...)`, a request's "
        "`execute()`, `MediaIoBaseDownload`'s `next_chunk()`) and Elasticsearch / OpenSearch "
        "(`es.search(...)`, `es.indices.create(...)`, `elasticsearch.helpers.bulk/scan`).",
        why="Each call is a synchronous network round trip (seconds for a model's answer) that "
        "holds the loop for its whole latency; every request, heartbeat and health check waits.",
        example="async def summarize(text: str):\n"
        "    client = OpenAI()\n"
        "    reply = client.chat.completions.create(model='gpt-4o', messages=[{'role': 'user', 'content': text}])\n"
        "    return reply.choices[0].message.content",
        instead="The SDK's async client: `AsyncOpenAI`, `AsyncAnthropic`, aioboto3, "
        "`redis.asyncio.Redis`, `pymongo.AsyncMongoClient` (or motor), Weaviate's "
        "`WeaviateAsyncClient` (`weaviate.use_async_with_local(...)`), `AsyncElasticsearch`, "
        "`opensearchpy.AsyncOpenSearch` (and their `async_bulk`/`async_scan` helpers); for the Google "
        "API client, aiogoogle, or the call in a thread with its own `httplib2.Http`; or the call in "
        "`asyncio.to_thread`.",
        fix_safety="Safe where applied: the call runs in a worker thread. The OpenAI, Anthropic "
        "and boto3 clients, redis-py clients, `MongoClient`, `Elasticsearch` and `OpenSearch` are "
        "safe to use from several threads at once, so their calls move one by one. boto3 sessions "
        "and resources, redis pipelines, Weaviate clients (not documented thread-safe) and Google "
        "API services (one `httplib2.Http` under each) are not: their calls move only on an object "
        "the coroutine made itself (one thread at a time, each call awaited); one made elsewhere "
        "stays, with the reason and the async client to use. Never moved: `MediaIoBaseDownload`'s "
        "`next_chunk()` (it downloads through its request's shared `Http`) and the lazy "
        "`helpers.scan`/`streaming_bulk`/`parallel_bulk` (their requests run as the generator is "
        "consumed, on the loop).",
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
            # presigning signs locally: nothing is sent
            exclude=("get_paginator", "get_waiter", "can_paginate", "close", "generate_presigned_url",
                     "generate_presigned_post"),
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
        Rule(
            # connect_to_* connect and check the server (an embedded one is downloaded and
            # started); `client.collections.get(name)` makes the collection object locally.
            # `WeaviateClient(...)` itself does not connect (`connect()` or `with` does).
            code="AF425",
            message="`{name}` makes a synchronous Weaviate call on the event loop",
            functions=WEAVIATE_CONNECT,
            methods={WEAVIATE: ("connect", "is_ready", "is_live", "get_meta", "graphql_raw_query",
                                "get_open_id_configuration"),
                     WEAVIATE_COLLECTIONS: ("create", "create_from_dict", "create_from_config", "delete",
                                            "delete_all", "exists", "list_all", "export_config"),
                     **{typ: (ANY,) for typ in WEAVIATE_NAMESPACES.values()}},
            thread_safe=False,
            elsewhere_reason="the sync Weaviate client is not documented as safe to use from several "
            "threads at once, and this one is made outside this coroutine (others may use it too): use "
            "`WeaviateAsyncClient` (`weaviate.use_async_with_local(...)`)",
        ),
        Rule(
            # `build` reads (and may download) the discovery document; requests send on `execute()`
            code="AF426",
            message="`{name}` makes a synchronous Google API call on the event loop",
            functions=("googleapiclient.discovery.build", "apiclient.discovery.build"),
            methods={GOOGLE: ("execute", "next_chunk")},
            thread_safe=False,
            elsewhere_reason=GOOGLE_ELSEWHERE,
        ),
        Rule(
            code="AF426",
            message="`{name}` makes a synchronous Google API call on the event loop",
            methods={GOOGLE_DOWNLOAD: ("next_chunk",)},
            thread_safe=False,
            unfixable="the download runs through its request's `httplib2.Http`, which is not thread-safe and "
            "may be shared: run the whole download loop in one thread, with its own `Http`",
        ),
        Rule(
            code="AF427",
            message="`{name}` makes a synchronous Elasticsearch (or OpenSearch) call on the event loop",
            functions=tuple(f"{mod}.{fn}" for mod in ES_HELPERS for fn in ("bulk", "reindex")),
            methods={ES: (ANY,), OPENSEARCH: (ANY,), ES_NAMESPACE: (ANY,), OPENSEARCH_NAMESPACE: (ANY,)},
            exclude=("options", "close"),
        ),
        Rule(
            code="AF427",
            message="`{name}` makes a synchronous Elasticsearch (or OpenSearch) call on the event loop",
            functions=tuple(f"{mod}.{fn}" for mod in ES_HELPERS for fn in ("scan", "streaming_bulk",
                                                                          "parallel_bulk")),
            unfixable="a generator: its requests run as it is consumed, here on the loop; move the loop that "
            "consumes it into a thread, or use the async client's `async_scan`/`async_streaming_bulk`",
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
            **{fn: WEAVIATE for fn in WEAVIATE_CONNECT},
            "weaviate.WeaviateClient": WEAVIATE, "weaviate.client.WeaviateClient": WEAVIATE,
            f"{WEAVIATE_COLLECTIONS}.get": WEAVIATE_COLLECTION, f"{WEAVIATE_COLLECTIONS}.use": WEAVIATE_COLLECTION,
            f"{WEAVIATE_COLLECTION}.with_tenant": WEAVIATE_COLLECTION,
            f"{WEAVIATE_COLLECTION}.with_consistency_level": WEAVIATE_COLLECTION,
            "googleapiclient.discovery.build": GOOGLE, "apiclient.discovery.build": GOOGLE,
            "googleapiclient.discovery.build_from_document": GOOGLE,
            f"{GOOGLE}.*": GOOGLE,  # service.files() -> resource, .list(...) -> request
            "googleapiclient.http.MediaIoBaseDownload": GOOGLE_DOWNLOAD,
            "elasticsearch.Elasticsearch": ES, "elasticsearch.client.Elasticsearch": ES,
            f"{ES}.options": ES,
            "opensearchpy.OpenSearch": OPENSEARCH, "opensearchpy.client.OpenSearch": OPENSEARCH,
        },
        attributes={
            f"{OPENAI}.*": OPENAI_RESOURCE, f"{OPENAI_RESOURCE}.*": OPENAI_RESOURCE,
            f"{ANTHROPIC}.*": ANTHROPIC_RESOURCE, f"{ANTHROPIC_RESOURCE}.*": ANTHROPIC_RESOURCE,
            f"{MONGO}.*": MONGO_DB, f"{MONGO_DB}.*": MONGO_COLLECTION,
            f"{WEAVIATE}.collections": WEAVIATE_COLLECTIONS, **WEAVIATE_NAMESPACES,
            # es.indices, es.cluster, ...: namespaced clients (opensearch's plugins nest them)
            f"{ES}.*": ES_NAMESPACE, f"{OPENSEARCH}.*": OPENSEARCH_NAMESPACE,
            f"{OPENSEARCH_NAMESPACE}.*": OPENSEARCH_NAMESPACE,
        },
        items={MONGO: MONGO_DB, MONGO_DB: MONGO_COLLECTION},  # client["db"]["coll"]
        fresh=frozenset({REDIS_PIPELINE}),  # a pipeline buffers for the coroutine that made it
        annotations={"openai.OpenAI": OPENAI, "anthropic.Anthropic": ANTHROPIC, "redis.Redis": REDIS,
                     "redis.client.Redis": REDIS, "pymongo.MongoClient": MONGO,
                     "pymongo.collection.Collection": MONGO_COLLECTION,
                     "pymongo.database.Database": MONGO_DB,
                     "weaviate.client.WeaviateClient": WEAVIATE, "weaviate.collections.collection.Collection":
                     WEAVIATE_COLLECTION, "googleapiclient.http.HttpRequest": GOOGLE,
                     "elasticsearch.client.Elasticsearch": ES, "opensearchpy.client.OpenSearch": OPENSEARCH},
    ),
)
