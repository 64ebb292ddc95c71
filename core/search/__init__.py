"""Text search: the full-text index and the query functions that the library, gallery and people listings call."""
