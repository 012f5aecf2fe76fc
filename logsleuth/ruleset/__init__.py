"""The YAML rule set, by job: loading.py (schema and YAML -> RuleSet), evaluation.py (rules on one
run's series -> findings), text.py (sentences of findings, conditions and causes).

A rule names the metrics it reads (by role or tag pattern), detector clauses combined with
all / any / none, the symptom it establishes, a severity, and the causes it supports with
weights (optionally only `when` a measure or hyperparameter condition holds).
"""

from __future__ import annotations

from .evaluation import cause_weight, check, evaluate
from .loading import SCHEMA_VERSION, Rule, RuleSet, apply_weights, builtin_ruleset, load_rule_file, load_ruleset, needed, taxonomy
from .text import cause_text, condition_text, finding_message

__all__ = ["SCHEMA_VERSION", "Rule", "RuleSet", "apply_weights", "builtin_ruleset", "cause_text", "cause_weight", "check",
           "condition_text", "evaluate", "finding_message", "load_rule_file", "load_ruleset", "needed", "taxonomy"]
