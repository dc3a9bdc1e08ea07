"""Personal-data masking: pure functions from a view and the market's rule to a masked view."""

from app.masking.policy import Masker

__all__ = ["Masker"]
