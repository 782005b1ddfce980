"""The browser importer: the page ``GET /importer`` and the web component ``GET /importer.js``.

Both are static files shipped in this package (and so in the Lambda layer); ``page`` reads them
once and answers them with the headers that keep them safe (docs/importer.md).
"""
