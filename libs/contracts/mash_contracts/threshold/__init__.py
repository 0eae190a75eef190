"""The area's threshold model, shared by intake (screening) and decision (levels, routes) so both read one file."""

from .model import (
    CONDITIONS,
    MODELS,
    Level,
    Recommendation,
    Rule,
    Screening,
    ScreeningRule,
    ThresholdModel,
    Timescales,
    load_model,
)

__all__ = [
    "CONDITIONS",
    "MODELS",
    "Level",
    "Recommendation",
    "Rule",
    "Screening",
    "ScreeningRule",
    "ThresholdModel",
    "Timescales",
    "load_model",
]
