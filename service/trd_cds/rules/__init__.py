"""The TRD rules: CQL libraries of ``cql/`` evaluated by the engine into the assessment."""

from .runner import TrdRules

__all__ = ["TrdRules"]
