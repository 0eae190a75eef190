"""The threshold model: an area's levels of need, risk factors and routes as versioned data (models/*.toml),
evaluated by pure functions. Loading validates every name against the contracts' vocabularies, so a typo
in a model file stops the service at start-up instead of silently never firing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mash_contracts import (
    Agency,
    ConcernCategory,
    Contribution,
    Factor,
    Notification,
    Outcome,
    RagRating,
    SubjectRole,
    ThresholdLevel,
)

MODELS = Path(__file__).parent / "models"
CONDITIONS = {"immediate_danger", "categories", "finding", "youngest_child_under_years", "unborn_child", "no_answer_from_desk"}
_CHILDREN = (SubjectRole.CHILD, SubjectRole.UNBORN_CHILD)


@dataclass(frozen=True)
class Level:
    number: ThresholdLevel
    name: str
    min_score: int
    outcome: Outcome
    recipients: tuple[Agency, ...]


@dataclass(frozen=True)
class Rule:
    name: str
    condition: str
    value: object
    weight: int
    floor: int | None = None
    outcome: Outcome | None = None
    outcome_from_level: int = 1
    also_route: tuple[Agency, ...] = ()


@dataclass(frozen=True)
class Timescales:
    return_hours: dict[RagRating, float]
    around_the_clock: frozenset[RagRating]
    decision_working_days: int
    working_day_start: str
    working_day_end: str
    timezone: str
    alert_before_minutes: int


@dataclass(frozen=True)
class Recommendation:
    level: ThresholdLevel
    level_name: str
    outcome: Outcome
    recipients: tuple[Agency, ...]
    factors: tuple[Factor, ...]
    score: int


@dataclass(frozen=True)
class ThresholdModel:
    version: str
    area: str
    levels: dict[ThresholdLevel, Level]
    adults: Level
    rules: tuple[Rule, ...]
    rag_red: frozenset[str]
    rag_amber: frozenset[str]
    timescales: Timescales
    auto_confirm_levels: frozenset[ThresholdLevel] = field(default_factory=frozenset)

    @classmethod
    def load(cls, path: Path) -> ThresholdModel:
        try:
            return _parse(tomllib.loads(path.read_text()))
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"threshold model {path.name}: {e}") from e

    def level_name(self, level: ThresholdLevel) -> str:
        return self.levels[level].name

    def recommend(
        self, notification: Notification, contributions: dict[Agency, Contribution],
        no_answer: frozenset[Agency] = frozenset(), today: date | None = None,
    ) -> Recommendation:
        today = today or notification.received_at.date()
        fired: list[tuple[Rule, str]] = []
        for rule in self.rules:
            source = _fires(rule, notification, contributions, no_answer, today)
            if source:
                fired.append((rule, source))
        factors = [Factor(name=r.name, source=s, weight=r.weight) for r, s in fired]
        score = sum(r.weight for r, _ in fired)

        if not any(s.role in _CHILDREN for s in notification.subjects):
            routes = _ordered(self.adults.recipients + tuple(a for r, _ in fired for a in r.also_route))
            factors.append(Factor(name=f"no child among the subjects: {self.adults.name}", source="model", weight=0))
            return Recommendation(self.adults.number, self.adults.name, self.adults.outcome, routes, tuple(factors), score)

        by_score = max(n for n, lv in self.levels.items() if score >= lv.min_score)
        floors = [(r.floor, r.name) for r, _ in fired if r.floor]
        level = max([by_score, *(f for f, _ in floors)])
        chosen = self.levels[ThresholdLevel(level)]
        why = f"score {score} reaches {chosen.name} (from {self.levels[ThresholdLevel(by_score)].min_score})"
        if level > by_score:
            why = f"score {score}; '{max(floors)[1]}' sets at least {chosen.name}"
        factors.append(Factor(name=why[:120], source="model", weight=0))

        outcome = chosen.outcome
        asking = [(r.weight, r) for r, _ in fired if r.outcome and r.outcome_from_level <= level < ThresholdLevel.CHILD_PROTECTION]
        if asking:
            outcome = max(asking, key=lambda wr: wr[0])[1].outcome
        extra = tuple(a for r, _ in fired for a in r.also_route) if level >= ThresholdLevel.CHILD_IN_NEED else ()
        return Recommendation(chosen.number, chosen.name, outcome, _ordered(chosen.recipients + extra), tuple(factors), score)

    def regrade(self, current: RagRating, contributions: dict[Agency, Contribution]) -> tuple[RagRating, str] | None:
        """The raised RAG rating and why, when a contribution's finding calls for a higher one; else None."""
        order = [RagRating.BLUE, RagRating.GREEN, RagRating.AMBER, RagRating.RED]
        best, reason = current, ""
        for agency, c in sorted(contributions.items()):
            for finding in c.findings:
                wanted = RagRating.RED if finding in self.rag_red else RagRating.AMBER if finding in self.rag_amber else None
                if wanted and order.index(wanted) > order.index(best):
                    best, reason = wanted, f"{agency.value} reported {finding.replace('_', ' ')}"
        return (best, reason) if best != current else None


def load_model(name_or_path: str) -> ThresholdModel:
    """A model by file name in models/ ("default", "northshire") or by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = MODELS / f"{name_or_path}.toml"
    return ThresholdModel.load(path)


def _ordered(agencies: tuple[Agency, ...]) -> tuple[Agency, ...]:
    return tuple(dict.fromkeys(agencies))


def _youngest_age(notification: Notification, today: date) -> float | None:
    ages = [(today - s.date_of_birth).days / 365.25 for s in notification.subjects if s.role is SubjectRole.CHILD and s.date_of_birth]
    return min(ages) if ages else None


def _fires(rule: Rule, n: Notification, contributions: dict[Agency, Contribution], no_answer: frozenset[Agency], today: date) -> str:
    """The source that fired the rule ("notification", or the agencies whose contributions did), or ""."""
    if rule.condition == "immediate_danger":
        return "notification" if n.concern.immediate_danger == rule.value else ""
    if rule.condition == "categories":
        return "notification" if set(n.concern.categories) & rule.value else ""
    if rule.condition == "finding":
        return ", ".join(a.value for a, c in sorted(contributions.items()) if rule.value in c.findings)
    if rule.condition == "youngest_child_under_years":
        age = _youngest_age(n, today)
        return "notification" if age is not None and age < rule.value else ""
    if rule.condition == "unborn_child":
        return "notification" if any(s.role is SubjectRole.UNBORN_CHILD for s in n.subjects) == rule.value else ""
    if rule.condition == "no_answer_from_desk":
        return ", ".join(sorted(a.value for a in no_answer)) if rule.value and no_answer else ""
    raise ValueError(rule.condition)


def _level(number: int, raw: dict) -> Level:
    return Level(ThresholdLevel(number), str(raw["name"]), int(raw.get("min_score", 0)), Outcome(raw["outcome"]),
                 tuple(Agency(a) for a in raw["recipients"]))


def _rule(raw: dict) -> Rule:
    (condition, value), = raw["when"].items()
    if condition not in CONDITIONS:
        raise ValueError(f"factor {raw['name']!r}: unknown condition {condition!r} (known: {sorted(CONDITIONS)})")
    if condition == "categories":
        value = frozenset(ConcernCategory(c) for c in value)
    return Rule(
        name=str(raw["name"]), condition=condition, value=value, weight=int(raw["weight"]),
        floor=int(raw["floor"]) if "floor" in raw else None,
        outcome=Outcome(raw["outcome"]) if "outcome" in raw else None,
        outcome_from_level=int(raw.get("outcome_from_level", 1)),
        also_route=tuple(Agency(a) for a in raw.get("also_route", ())),
    )


def _parse(raw: dict) -> ThresholdModel:
    levels = {ThresholdLevel(int(k)): _level(int(k), v) for k, v in raw["levels"].items()}
    if set(levels) != set(ThresholdLevel):
        raise ValueError(f"levels must be exactly {[int(lv) for lv in ThresholdLevel]}")
    if levels[ThresholdLevel.UNIVERSAL].min_score != 0:
        raise ValueError("level 1 must start at score 0, so every referral has a level")
    a = raw["adults"]
    adults = Level(ThresholdLevel(int(a["level"])), str(a.get("name", "adult at risk")), 0, Outcome(a["outcome"]),
                   tuple(Agency(x) for x in a["recipients"]))
    t = raw["timescales"]
    timescales = Timescales(
        return_hours={RagRating(r): float(t[f"{r}_return_hours"]) for r in ("red", "amber", "green", "blue")},
        around_the_clock=frozenset(RagRating(r) for r in t["around_the_clock"]), decision_working_days=int(t["decision_working_days"]),
        working_day_start=str(t["working_day_start"]), working_day_end=str(t["working_day_end"]),
        timezone=str(t["timezone"]), alert_before_minutes=int(t["alert_before_minutes"]),
    )
    return ThresholdModel(
        version=str(raw["version"]), area=str(raw["area"]), levels=levels, adults=adults,
        rules=tuple(_rule(r) for r in raw["factors"]),
        rag_red=frozenset(raw["rag"]["red"]), rag_amber=frozenset(raw["rag"]["amber"]),
        timescales=timescales,
        auto_confirm_levels=frozenset(ThresholdLevel(x) for x in raw["confirmation"]["auto_confirm_levels"]),
    )
