"""Answer backends behind one small interface (rag/backends/base.py), chosen by name (rag/backends/names.py)
and built by rag/backends/registry.py, which imports each lazily."""
