"""image: OpenCV, Pillow and pdf2image work on the loop (checklist 1.1B)."""

from asyncfix.catalog import ANY, Category, Doc, Rule, Types

IMAGE = "PIL.Image.Image"
DRAW = "PIL.ImageDraw.ImageDraw"  # `ImageDraw.Draw(img).text(...)`: rendering holds the GIL in C
# Image methods that hand back a new image, so chained calls stay tracked.
_IMAGE_TO_IMAGE = (
    "resize", "convert", "rotate", "crop", "transpose", "filter", "copy", "quantize", "reduce",
    "transform", "point", "remap_palette", "effect_spread",
)

CATEGORY = Category(
    name="image",
    section="1.1B",
    title="OpenCV/Pillow image operations",
    doc=Doc(
        what="Flags OpenCV (`cv2.*`), Pillow (`Image.open`, `Image.new`, ... and methods on images "
        "such as `resize`, `save`, `thumbnail`, `convert`) and `pdf2image.convert_from_*` calls "
        "inside `async def`.",
        why="Decoding, resizing and encoding images takes 100 ms to 5 s per page; PDF rendering at "
        "OCR resolution is slower still. On the loop every other request waits.",
        example="async def thumbnail(path: str):\n"
        "    img = Image.open(path)\n"
        "    img.thumbnail((256, 256))\n"
        "    img.save(path + '.thumb.png')",
        instead="Move the image work into a module-level sync helper and "
        "`await asyncio.to_thread(_thumbnail_sync, path)`. Pillow and OpenCV release the GIL, so "
        "the loop stays free while they run.",
        fix_safety="Safe: the same calls run in a worker thread; an image object created and used "
        "inside the helper never crosses threads.",
        imports="from PIL import Image",
    ),
    rules=(
        Rule(
            code="AF111",
            message="`{name}` runs OpenCV image work on the event loop",
            functions=("cv2.*",),
            exclude=("getTickCount", "getTickFrequency", "setNumThreads", "getNumThreads",
                     "useOptimized", "setUseOptimized", "getBuildInformation", "getVersionString"),
        ),
        Rule(
            code="AF112",
            message="`{name}` decodes or builds a Pillow image on the event loop",
            functions=(
                "PIL.Image.open", "PIL.Image.new", "PIL.Image.fromarray", "PIL.Image.frombytes",
                "PIL.Image.frombuffer", "PIL.Image.merge", "PIL.Image.composite",
                "PIL.Image.blend", "PIL.Image.alpha_composite", "PIL.Image.eval",
                "PIL.ImageOps.*", "PIL.ImageDraw.Draw", "PIL.ImageFont.*",
            ),
        ),
        Rule(
            code="AF113",
            message="`{name}` processes a Pillow image on the event loop",
            methods={IMAGE: (ANY,), DRAW: (ANY,)},
            exclude=("getpixel", "putpixel", "tell", "getbands", "getexif", "close", "info"),
        ),
        Rule(
            code="AF114",
            message="`{name}` renders PDF pages to images on the event loop",
            functions=("pdf2image.*",),
        ),
    ),
    types=Types(
        returns={
            **{f"PIL.Image.{fn}": IMAGE for fn in (
                "open", "new", "fromarray", "frombytes", "frombuffer", "merge", "composite",
                "blend", "alpha_composite", "eval")},
            **{f"{IMAGE}.{m}": IMAGE for m in _IMAGE_TO_IMAGE},
            "PIL.ImageOps.*": IMAGE,
            "PIL.ImageDraw.Draw": DRAW,
            "pdf2image.convert_from_path": f"[{IMAGE}]",
            "pdf2image.convert_from_bytes": f"[{IMAGE}]",
        },
        annotations={"PIL.Image": IMAGE},
    ),
)
