"""One module per audit-checklist category; ``CATEGORIES`` lists them in checklist order."""

from asyncfix.codemods import (
    db,
    docling,
    file_io,
    helpers,
    http,
    image,
    input,
    json,
    labelstudio,
    ml,
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
    for module in (docling, image, ml, json, pdf, file_io, sqlite, db, labelstudio, http, sdk, socket,
                   sleep, subprocess, input, threading, helpers)
)
