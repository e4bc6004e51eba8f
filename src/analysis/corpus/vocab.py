"""The manifest's vocabulary: its columns and allowed values (standard library only: the CLI's
argument choices need them before anything heavy is imported)."""

MANIFEST_COLUMNS = [
    "doc_id", "district", "region", "admin_level", "year",
    "title", "source", "file", "completeness", "sha256",
]
COMPLETENESS = ("complete", "truncated", "partial")
ADMIN_LEVELS = ("区", "县", "市", "省")
