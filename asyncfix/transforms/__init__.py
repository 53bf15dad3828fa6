"""Reusable rewriters: offload to a thread through sync helpers, imports, backend primitives."""
