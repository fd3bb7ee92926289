"""Ingest → clean → chunk → embed → store: turns article files into a persisted, searchable index."""
