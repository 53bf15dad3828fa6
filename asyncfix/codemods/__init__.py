"""One module per audit-checklist category; ``CATEGORIES`` lists them in checklist order."""

from asyncfix.codemods import (
    docling,
    file_io,
    http,
    image,
    input,
    json,
    labelstudio,
    pdf,
    sleep,
    socket,
    sqlite,
    subprocess,
    threading,
)

CATEGORIES = tuple(
    module.CATEGORY
    for module in (docling, image, json, pdf, file_io, sqlite, labelstudio, http, socket, sleep,
                   subprocess, input, threading)
)
