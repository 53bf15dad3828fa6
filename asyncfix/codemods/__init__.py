"""One module per audit-checklist category; ``CATEGORIES`` lists them in checklist order."""

from asyncfix.codemods import (
    db,
    docling,
    file_io,
    http,
    image,
    input,
    json,
    labelstudio,
    pdf,
    sdk,
    sleep,
    socket,
    sqlite,
    subprocess,
    threading,
)

CATEGORIES = tuple(
    module.CATEGORY
    for module in (docling, image, json, pdf, file_io, sqlite, db, labelstudio, http, sdk, socket,
                   sleep, subprocess, input, threading)
)
