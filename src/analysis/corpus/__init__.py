"""Corpus layer: raw plans in, plain structured text out (decode, ingest, manifest, add, clean, structure)."""
