"""pdf: parsing and rendering PDFs on the loop (checklist 1.1D)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

READER, WRITER, PAGE, PAGES = "pypdf.PdfReader", "pypdf.PdfWriter", "pypdf.PageObject", "pypdf.Pages"
PAGE_IMAGES, PDF_IMAGE = "pypdf.PageImages", "pypdf.ImageFile"
PLUMBER, PLUMBER_PAGE, PLUMBER_PAGES = "pdfplumber.PDF", "pdfplumber.Page", "pdfplumber.Pages"
FITZ_DOC, FITZ_PAGE, PIXMAP = "fitz.Document", "fitz.Page", "fitz.Pixmap"

CATEGORY = Category(
    name="pdf",
    section="1.1D",
    title="PDF parsing operations",
    doc=Doc(
        what="Flags PyPDF2/pypdf `PdfReader`/`PdfWriter` and their page methods, a page's "
        "`images` (each embedded image is decoded as it is iterated or indexed), "
        "`pdfplumber.open` and page methods (`extract_text`, `extract_tables`, ...), and "
        "PyMuPDF (`fitz.open`/`pymupdf.open`, document and page methods) inside `async def`.",
        why="Parsing a 50-page PDF takes 5-30 s of CPU work; on the loop nothing else runs.",
        example="async def page_count(path: str):\n"
        "    reader = PdfReader(path)\n"
        "    return len(reader.pages)",
        instead="Do the PDF work in a module-level sync helper and "
        "`await asyncio.to_thread(_page_count_sync, path)`; pass the path, not open objects.",
        fix_safety="Safe: the same code runs in a worker thread. pypdf and pdfplumber are pure "
        "Python: the loop stays responsive (the GIL switches every 5 ms) though throughput does "
        "not improve. `page.images` moves only with the statement that iterates, indexes or counts "
        "it (a loop over it moves whole; an early return inside the loop moves with the "
        "coroutine's final `return`).",
        imports="from pypdf import PdfReader",
    ),
    rules=(
        Rule(
            code="AF131",
            message="`{name}` parses a PDF with pypdf on the event loop",
            functions=("pypdf.PdfReader", "pypdf.PdfWriter", "pypdf.PdfMerger",
                       "pypdf.PdfFileReader", "pypdf.PdfFileWriter", "pypdf.PdfFileMerger"),
            methods={READER: (ANY,), WRITER: (ANY,), PAGE: (ANY,), "pypdf.PdfMerger": (ANY,)},
            properties={PAGE: ("images",)},
        ),
        Rule(
            code="AF132",
            message="`{name}` parses a PDF with pdfplumber on the event loop",
            functions=("pdfplumber.open",),
            methods={PLUMBER: (ANY,), PLUMBER_PAGE: (ANY,)},
            exclude=("close",),
        ),
        Rule(
            code="AF133",
            message="`{name}` parses or renders a PDF with PyMuPDF on the event loop",
            functions=("fitz.open", "fitz.Document"),
            methods={FITZ_DOC: (ANY,), FITZ_PAGE: (ANY,), PIXMAP: (ANY,)},
            exclude=("close",),
        ),
    ),
    types=Types(
        returns={
            "pypdf.PdfReader": READER, "pypdf.PdfFileReader": READER,
            "pypdf.PdfWriter": WRITER, "pypdf.PdfFileWriter": WRITER,
            "pypdf.PdfMerger": "pypdf.PdfMerger",
            f"{READER}.get_page": PAGE, f"{WRITER}.add_blank_page": PAGE,
            "pdfplumber.open": PLUMBER, f"{PLUMBER_PAGE}.crop": PLUMBER_PAGE,
            f"{PLUMBER_PAGE}.within_bbox": PLUMBER_PAGE, f"{PLUMBER_PAGE}.filter": PLUMBER_PAGE,
            "fitz.open": FITZ_DOC, "fitz.Document": FITZ_DOC,
            f"{FITZ_DOC}.load_page": FITZ_PAGE, f"{FITZ_DOC}.new_page": FITZ_PAGE,
            f"{FITZ_PAGE}.get_pixmap": PIXMAP,
        },
        # `page.images` decodes each embedded image as it is iterated or indexed; `.image` of
        # what it yields is the decoded Pillow image
        attributes={f"{READER}.pages": PAGES, f"{WRITER}.pages": PAGES,
                    f"{PLUMBER}.pages": PLUMBER_PAGES, f"{PAGE}.images": PAGE_IMAGES,
                    f"{PDF_IMAGE}.image": "PIL.Image.Image"},
        items={PAGES: PAGE, PLUMBER_PAGES: PLUMBER_PAGE, FITZ_DOC: FITZ_PAGE, PAGE_IMAGES: PDF_IMAGE},
        annotations={"pypdf._page.PageObject": PAGE, "pdfplumber.pdf.PDF": PLUMBER,
                     "pdfplumber.page.Page": PLUMBER_PAGE},
    ),
)
