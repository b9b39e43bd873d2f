"""Grounded question answering over Chinese documents, offline."""

__version__ = "0.1.0"
