"""labelstudio: Label Studio SDK calls are synchronous HTTP (checklist 1.4A)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

CLIENT, PROJECT = "label_studio_sdk.Client", "label_studio_sdk.Project"
LABEL_STUDIO, RESOURCE = "label_studio_sdk.LabelStudio", "label_studio_sdk.Resource"

CATEGORY = Category(
    name="labelstudio",
    section="1.4A",
    title="Label Studio SDK calls",
    doc=Doc(
        what="Flags method calls on Label Studio SDK objects inside `async def`: the legacy "
        "`Client` and the `Project`s it returns (`create_project`, `import_tasks`, "
        "`export_tasks`, ...) and the `LabelStudio` client's resources "
        "(`ls.projects.create(...)`, `ls.tasks.list(...)`).",
        why="The SDK is built on `requests`: every call is a synchronous HTTP round trip that "
        "holds the loop for its whole latency, seconds for imports and exports.",
        example="async def create_project(name: str):\n"
        "    client = Client(url=LABEL_STUDIO_URL, api_key=API_KEY)\n"
        "    return client.create_project(title=name)",
        instead="Run the SDK calls in a sync helper via `asyncio.to_thread`, or call the REST "
        "API with `httpx.AsyncClient`.",
        fix_safety="Safe: the same SDK calls run in a worker thread; the client is created "
        "inside the helper or is thread-safe `requests` state.",
        imports="from label_studio_sdk import Client\n\nLABEL_STUDIO_URL, API_KEY = 'http://localhost:8080', 'key'",
    ),
    rules=(
        Rule(
            # The legacy SDK's constructor checks the connection (GET /api/version).
            code="AF402",
            message="`{name}` connects to Label Studio on the event loop",
            functions=("label_studio_sdk.Client", "label_studio_sdk.client.Client"),
        ),
        Rule(
            code="AF401",
            message="`{name}` makes a synchronous Label Studio API call on the event loop",
            methods={CLIENT: (ANY,), PROJECT: (ANY,), LABEL_STUDIO: (ANY,), RESOURCE: (ANY,)},
        ),
    ),
    types=Types(
        returns={
            "label_studio_sdk.Client": CLIENT,
            "label_studio_sdk.client.Client": CLIENT,
            "label_studio_sdk.LabelStudio": LABEL_STUDIO,
            "label_studio_sdk.client.LabelStudio": LABEL_STUDIO,
            f"{CLIENT}.get_project": PROJECT,
            f"{CLIENT}.start_project": PROJECT,
            f"{CLIENT}.create_project": PROJECT,
            "label_studio_sdk.Project.get_from_id": PROJECT,
        },
        # The new SDK groups endpoints under resource attributes: ls.projects.exports.create().
        attributes={f"{LABEL_STUDIO}.*": RESOURCE, f"{RESOURCE}.*": RESOURCE},
        annotations={"label_studio_sdk.project.Project": PROJECT,
                     "label_studio_sdk.client.Client": CLIENT,
                     "label_studio_sdk.client.LabelStudio": LABEL_STUDIO},
    ),
)
