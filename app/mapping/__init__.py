"""Declarative behaviour (``mappings/*.toml``): schema, start-up validation, pure normalization."""
