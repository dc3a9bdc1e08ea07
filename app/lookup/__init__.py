"""The lookup service: the only thing controllers call."""

from app.lookup.service import LookupService

__all__ = ["LookupService"]
