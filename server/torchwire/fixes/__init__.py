"""Fixes: edits computed with libcst, on demand."""
