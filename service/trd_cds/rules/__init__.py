"""The TRD rules: CQL libraries of ``cql/`` evaluated by the engine into the assessment, and
the crisis rule alone for when the assessment is not available."""

from .crisis_rule import CrisisRule
from .runner import TrdRules

__all__ = ["CrisisRule", "TrdRules"]
