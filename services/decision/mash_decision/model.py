"""The threshold model now lives in the contracts (`mash_contracts.threshold`), because intake screens with the
same file the decision service decides with; this name stays for the decision service's modules, the CLI and tests."""

from mash_contracts.threshold import (  # noqa: F401
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
