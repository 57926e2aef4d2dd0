"""Turn a folder of documents into a searchable index.

`ingest` never imports `rag` or `click`: it is the library half of the product.
"""
