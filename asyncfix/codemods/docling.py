"""docling: Docling conversions run ML inference on the loop (checklist 1.1A)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

CONVERTER = "docling.document_converter.DocumentConverter"
RESULT = "docling.datamodel.document.ConversionResult"
DOCUMENT = "docling_core.types.doc.DoclingDocument"

CATEGORY = Category(
    name="docling",
    section="1.1A",
    title="Docling processing without offloading",
    doc=Doc(
        what="Flags Docling work inside `async def`: building a `DocumentConverter` (loads the ML "
        "models), `.convert`, `.convert_all`, `.initialize_pipeline`, and exporting the converted "
        "document (`export_to_markdown`, `save_as_json`, ...).",
        why="A conversion runs layout, OCR and table models for 30-60 s per document. On the event "
        "loop it freezes every request, WebSocket heartbeat and health check for that long.",
        example="@app.post('/process')\n"
        "async def process(path: str):\n"
        "    result = DocumentConverter().convert(path)\n"
        "    return result.document.export_to_markdown()",
        instead="Run the conversion in a worker: `await asyncio.to_thread(_process_sync, path)` with "
        "the convert-then-export steps in a module-level sync helper, or a `ProcessPoolExecutor` for "
        "true parallelism.",
        fix_safety="Safe: the same code runs in a worker thread with the same arguments; results and "
        "exceptions propagate through the await unchanged.",
        imports="from docling.document_converter import DocumentConverter",
    ),
    rules=(
        Rule(
            code="AF101",
            message="`{name}` loads Docling's models on the event loop",
            functions=(CONVERTER, "docling.DocumentConverter"),
        ),
        Rule(
            code="AF102",
            message="`{name}` runs a Docling conversion on the event loop",
            methods={
                CONVERTER: ("convert", "convert_all", "initialize_pipeline"),
                DOCUMENT: (ANY,),
            },
        ),
    ),
    types=Types(
        returns={
            CONVERTER: CONVERTER,
            "docling.DocumentConverter": CONVERTER,
            f"{CONVERTER}.convert": RESULT,
        },
        attributes={f"{RESULT}.document": DOCUMENT},
        annotations={
            "docling.DocumentConverter": CONVERTER,
            "docling_core.types.DoclingDocument": DOCUMENT,
            "docling.datamodel.document.DoclingDocument": DOCUMENT,
        },
    ),
)
