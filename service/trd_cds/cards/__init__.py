"""Assessment + hook context → CDS Hooks 2.0 cards (texts in ``content.toml``)."""

from .builder import build_cards, crisis_card

__all__ = ["build_cards", "crisis_card"]
