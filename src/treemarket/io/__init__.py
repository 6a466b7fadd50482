"""Model files (YAML/JSON) with schemas and exact error messages; result writing."""

from treemarket.io.common import Document, read_document, write_atomic, write_json

__all__ = ["Document", "read_document", "write_atomic", "write_json"]
