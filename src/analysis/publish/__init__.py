"""Publish layer: jobs, warm kernels, export, provenance, workbook, verify and bundle."""
