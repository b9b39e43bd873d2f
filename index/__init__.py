"""Ingestion: load documents, chunk them with exact offsets, write them to Chroma."""
