"""The threshold model: an area's screening rules, levels of need, risk and protective factors and routes as
versioned data (models/*.toml), evaluated by pure functions. Intake screens with it and the decision service
decides with it, from the same file. Loading validates every name against the contracts' vocabularies, so a
typo in a model file stops the service at start-up instead of silently never firing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, cast

from ..messages import Contribution, Factor, Notification, NotificationSubmission
from ..text import shorten
from ..vocabulary import (
    CHILD_ROLES,
    AdultRoute,
    Agency,
    ConcernCategory,
    ConsentStatus,
    Outcome,
    ProtectiveFactor,
    RagRating,
    StatutoryFooting,
    SubjectRole,
    ThresholdLevel,
)
from . import adults as adult_test

MODELS = Path(__file__).parent / "models"
# Conditions a referral alone answers (screening uses only these); the others need the desks' contributions.
NOTIFICATION_CONDITIONS = {
    "immediate_danger",
    "categories",
    "youngest_child_under_years",
    "child_aged_at_least_years",
    "unborn_child",
    "consent",
    "protective_factor",
}
CONDITIONS = NOTIFICATION_CONDITIONS | {"finding", "no_answer_from_desk"}
_RAG_ORDER = [RagRating.BLUE, RagRating.GREEN, RagRating.AMBER, RagRating.RED]
NAME_LIMIT = 120  # Factor.name is ShortText: a name that would not fit is refused at load, never cut


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
    when: tuple[tuple[str, object], ...]  # every condition must hold
    weight: int
    floor: int | None = None
    outcome: Outcome | None = None
    outcome_from_level: int = 1
    also_route: tuple[Agency, ...] = ()
    low_level: bool = False  # counts towards the low-level cap: cannot lift a referral past a band on its own


@dataclass(frozen=True)
class ScreeningRule:
    name: str
    when: tuple[tuple[str, object], ...]
    rag: RagRating | None
    footing: StatutoryFooting | None


@dataclass(frozen=True)
class Screening:
    """What the front door sets: the initial RAG rating, the statutory footing, and the rules that set them."""

    rag: RagRating
    footing: StatutoryFooting
    reasons: tuple[str, ...]


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
    route: AdultRoute | None = None  # adults only: through the MASH, or to the allocated worker's team
    route_detail: str | None = None


@dataclass(frozen=True)
class _Fired:
    rule: Rule
    agencies: tuple[Agency, ...]  # empty: the notification fired it
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class ThresholdModel:
    version: str
    area: str
    levels: dict[ThresholdLevel, Level]
    adults: adult_test.AdultsModel
    rules: tuple[Rule, ...]
    rag_red: frozenset[str]
    rag_amber: frozenset[str]
    timescales: Timescales
    auto_confirm_levels: frozenset[ThresholdLevel] = field(default_factory=frozenset)
    screening_rules: tuple[ScreeningRule, ...] = ()
    default_rag: RagRating = RagRating.GREEN
    low_level_cap: int | None = None

    @classmethod
    def load(cls, path: Path) -> ThresholdModel:
        try:
            return _parse(tomllib.loads(path.read_text()))
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"threshold model {path.name}: {e}") from e

    def level_name(self, level: ThresholdLevel) -> str:
        return self.levels[level].name

    def screen(self, submission: NotificationSubmission, today: date) -> Screening:
        """The front door's RAG rating and statutory footing: the highest RAG any screening rule sets, and s47
        when any rule says the concern on its face gives reasonable cause to suspect significant harm."""
        fired = [
            r
            for r in self.screening_rules
            if all(_check(c, v, submission, {}, frozenset(), today) is not None for c, v in r.when)
        ]
        rag = max([self.default_rag, *(r.rag for r in fired if r.rag)], key=_RAG_ORDER.index)
        if not any(s.role in CHILD_ROLES for s in submission.subjects):
            footing = StatutoryFooting.CARE_ACT_S42  # no child: the Care Act, whatever the concern
        elif any(r.footing is StatutoryFooting.S47 for r in fired):
            footing = StatutoryFooting.S47
        else:
            footing = StatutoryFooting.S17
        return Screening(rag, footing, tuple(r.name for r in fired))

    def recommend(
        self,
        notification: Notification,
        contributions: dict[Agency, Contribution],
        no_answer: frozenset[Agency] = frozenset(),
        today: date | None = None,
    ) -> Recommendation:
        today = today or notification.received_at.date()
        fired = [f for rule in self.rules if (f := _fire(rule, notification, contributions, no_answer, today))]
        factors = [_factor(f, contributions) for f in fired]
        score = sum(f.rule.weight for f in fired)
        low = sum(f.rule.weight for f in fired if f.rule.low_level and f.rule.weight > 0)
        if self.low_level_cap is not None and low > self.low_level_cap:
            # Age bands and "known to a service" describe vulnerability, not harm: together they may reach early help
            # but never lift a referral into statutory services on their own.
            score -= low - self.low_level_cap
            factors.append(
                Factor(
                    name=f"low-level factors capped at {self.low_level_cap}",
                    source="model",
                    weight=self.low_level_cap - low,
                    detail=f"Low-level factors (age bands, contact with a service with nothing of concern) add up to "
                    f"{low}; the model counts at most {self.low_level_cap} of them, so they cannot reach "
                    f"a higher band without a concern or a finding.",
                )
            )

        if not any(s.role in CHILD_ROLES for s in notification.subjects):
            adult = adult_test.assess(self.adults, notification, contributions)
            enquiry = adult.outcome in (Outcome.S42_ENQUIRY, Outcome.OTHER_SAFEGUARDING_ENQUIRY)
            # A crime against an adult (the rules' also_route) goes to those agencies too when there is an enquiry.
            routes = _ordered(self.adults.recipients + (tuple(a for f in fired for a in f.rule.also_route) if enquiry else ()))
            return Recommendation(
                adult.level,
                adult.level_name,
                adult.outcome,
                routes,
                tuple(factors) + adult.factors,
                score,
                adult.route,
                adult.route_detail,
            )

        by_score = max((n for n, lv in self.levels.items() if score >= lv.min_score), default=ThresholdLevel.UNIVERSAL)
        floors = [(f.rule.floor, f.rule.name) for f in fired if f.rule.floor]
        level = max([by_score, *(fl for fl, _ in floors)])
        chosen = self.levels[ThresholdLevel(level)]
        why = f"score {score} reaches {chosen.name} (from {self.levels[ThresholdLevel(by_score)].min_score})"
        if level > by_score:
            why = f"score {score}; '{max(floors)[1]}' sets at least {chosen.name}"
        factors.append(
            Factor(
                name=shorten(why),
                source="model",
                weight=0,
                detail=f"{why}. Bands: "
                + ", ".join(f"{lv.name} from {lv.min_score}" for _, lv in sorted(self.levels.items()))
                + ".",
            )
        )

        outcome = chosen.outcome
        asking = [
            (f.rule.weight, f.rule.outcome)
            for f in fired
            if f.rule.outcome and f.rule.outcome_from_level <= level < ThresholdLevel.CHILD_PROTECTION
        ]
        if asking:
            outcome = max(asking, key=lambda wo: wo[0])[1]
        extra = tuple(a for f in fired for a in f.rule.also_route) if level >= ThresholdLevel.CHILD_IN_NEED else ()
        return Recommendation(chosen.number, chosen.name, outcome, _ordered(chosen.recipients + extra), tuple(factors), score)

    def regrade(self, current: RagRating, contributions: dict[Agency, Contribution]) -> tuple[RagRating, str] | None:
        """The raised RAG rating and why, when a contribution's finding calls for a higher one; else None."""
        best, reason = current, ""
        for agency, c in sorted(contributions.items()):
            for finding in c.findings:
                wanted = RagRating.RED if finding in self.rag_red else RagRating.AMBER if finding in self.rag_amber else None
                if wanted and _RAG_ORDER.index(wanted) > _RAG_ORDER.index(best):
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


def _ages(notification: NotificationSubmission, today: date) -> list[float]:
    return [
        (today - s.date_of_birth).days / 365.25 for s in notification.subjects if s.role is SubjectRole.CHILD and s.date_of_birth
    ]


def _check(
    condition: str,
    value: object,
    n: NotificationSubmission,
    contributions: dict[Agency, Contribution],
    no_answer: frozenset[Agency],
    today: date,
) -> tuple[tuple[Agency, ...], str] | None:
    """None if the condition does not hold; else the agencies whose contributions made it hold (none: the
    notification did) and the evidence in words."""
    if condition == "immediate_danger":
        return ((), "the referrer reported immediate danger") if n.concern.immediate_danger == value else None
    if condition == "categories":
        assert isinstance(value, frozenset)  # _when parsed it into ConcernCategory members
        hit = sorted(c.value.replace("_", " ") for c in set(n.concern.categories) & value)
        return ((), f"the notification's concern includes {', '.join(hit)}") if hit else None
    if condition == "finding":
        agencies = tuple(a for a, c in sorted(contributions.items()) if value in c.findings)
        why = "".join(
            f" ({a.value}: {contributions[a].finding_explanations[value]})"
            for a in agencies
            if value in contributions[a].finding_explanations
        )
        return (agencies, f"{', '.join(a.value for a in agencies)} reported {value!r}{why}") if agencies else None
    if condition == "youngest_child_under_years":
        ages = _ages(n, today)
        # The number as the model file gives it (_when does not convert it).
        return ((), f"the youngest child is {min(ages):.1f} years old") if ages and min(ages) < cast(float, value) else None
    if condition == "child_aged_at_least_years":
        ages = _ages(n, today)
        return ((), f"a child is {max(ages):.1f} years old") if ages and max(ages) >= cast(float, value) else None
    if condition == "unborn_child":
        found = any(s.role is SubjectRole.UNBORN_CHILD for s in n.subjects)
        return ((), "an unborn child is among the subjects" if found else "no unborn child") if found == value else None
    if condition == "consent":
        return ((), f"consent {n.consent.status.value.replace('_', ' ')}") if n.consent.status is value else None
    if condition == "protective_factor":
        assert isinstance(value, ProtectiveFactor)  # _when parsed it
        return ((), f"the referrer reports {value.value.replace('_', ' ')}") if value in n.concern.protective_factors else None
    if condition == "no_answer_from_desk":
        silent = tuple(sorted(no_answer))
        return ((), f"no answer in time from {', '.join(a.value for a in silent)}") if value and silent else None
    raise ValueError(condition)


def _fire(
    rule: Rule, n: NotificationSubmission, contributions: dict[Agency, Contribution], no_answer: frozenset[Agency], today: date
) -> _Fired | None:
    agencies: list[Agency] = []
    evidence: list[str] = []
    for condition, value in rule.when:
        hit = _check(condition, value, n, contributions, no_answer, today)
        if hit is None:
            return None
        agencies += hit[0]
        evidence.append(hit[1])
    if rule.when[0][0] == "no_answer_from_desk":
        agencies = sorted(no_answer)  # the desks it names, though no contribution carries it
    return _Fired(rule, tuple(dict.fromkeys(agencies)), tuple(evidence))


def _factor(f: _Fired, contributions: dict[Agency, Contribution]) -> Factor:
    answered = [contributions[a] for a in f.agencies if a in contributions]
    records = [c.disclosure_id for c in answered if c.disclosure_id]
    whence = "; ".join(
        f"{c.agency.value} contribution {c.message_id}"
        + (f" (disclosure record {c.disclosure_id})" if c.disclosure_id else " (no disclosure record)")
        for c in answered
    )
    effects = [f"weight {f.rule.weight:+d}"]
    if f.rule.floor:
        effects.append(f"sets at least level {f.rule.floor}")
    if f.rule.outcome:
        effects.append(f"asks for {f.rule.outcome.value.replace('_', ' ')} from level {f.rule.outcome_from_level}")
    if f.rule.also_route:
        effects.append(f"also routes to {', '.join(a.value for a in f.rule.also_route)} from level 3")
    detail = f"{f.rule.name}: {'; '.join(f.evidence)}" + (f"; from {whence}" if whence else "") + f". {', '.join(effects)}."
    return Factor(
        name=f.rule.name,
        source=", ".join(a.value for a in f.agencies) or "notification",
        weight=f.rule.weight,
        detail=detail,
        disclosure_ids=records,
    )


def _level(number: int, raw: dict[str, Any]) -> Level:
    return Level(
        ThresholdLevel(number),
        _name(raw["name"]),
        int(raw.get("min_score", 0)),
        Outcome(raw["outcome"]),
        tuple(Agency(a) for a in raw["recipients"]),
    )


def _name(value: object) -> str:
    name = str(value)
    if not name.strip() or len(name) > NAME_LIMIT:
        raise ValueError(f"name {name!r} must be 1-{NAME_LIMIT} characters (put the rest in a comment)")
    return name


def _when(owner: str, raw: dict[str, Any], allowed: set[str]) -> tuple[tuple[str, object], ...]:
    if not raw:
        raise ValueError(f"{owner!r}: `when` names no condition")
    out: list[tuple[str, object]] = []
    for condition, value in raw.items():
        if condition not in allowed:
            raise ValueError(f"{owner!r}: unknown condition {condition!r} (known: {sorted(allowed)})")
        if condition == "categories":
            value = frozenset(ConcernCategory(c) for c in value)
        elif condition == "consent":
            value = ConsentStatus(value)
        elif condition == "protective_factor":
            value = ProtectiveFactor(value)
        out.append((condition, value))
    return tuple(out)


def _rule(raw: dict[str, Any]) -> Rule:
    name = _name(raw["name"])
    return Rule(
        name=name,
        when=_when(name, raw["when"], CONDITIONS),
        weight=int(raw["weight"]),
        floor=int(raw["floor"]) if "floor" in raw else None,
        outcome=Outcome(raw["outcome"]) if "outcome" in raw else None,
        outcome_from_level=int(raw.get("outcome_from_level", 1)),
        also_route=tuple(Agency(a) for a in raw.get("also_route", ())),
        low_level=bool(raw.get("low_level", False)),
    )


def _screening_rule(raw: dict[str, Any]) -> ScreeningRule:
    name = _name(raw["name"])
    rule = ScreeningRule(
        name,
        _when(name, raw["when"], NOTIFICATION_CONDITIONS),
        RagRating(raw["rag"]) if "rag" in raw else None,
        StatutoryFooting(raw["footing"]) if "footing" in raw else None,
    )
    if rule.footing not in (None, StatutoryFooting.S47):
        raise ValueError(
            f"screening rule {name!r}: footing may only be 's47' (s17 is the default, s42 follows from the subjects)"
        )
    return rule


def _parse(raw: dict[str, Any]) -> ThresholdModel:
    levels = {ThresholdLevel(int(k)): _level(int(k), v) for k, v in raw["levels"].items()}
    if set(levels) != set(ThresholdLevel):
        raise ValueError(f"levels must be exactly {[int(lv) for lv in ThresholdLevel]}")
    if levels[ThresholdLevel.UNIVERSAL].min_score != 0:
        raise ValueError("level 1 must start at score 0, so every referral has a level")
    adults = adult_test.parse(raw["adults"], _name)
    t = raw["timescales"]
    timescales = Timescales(
        return_hours={RagRating(r): float(t[f"{r}_return_hours"]) for r in ("red", "amber", "green", "blue")},
        around_the_clock=frozenset(RagRating(r) for r in t["around_the_clock"]),
        decision_working_days=int(t["decision_working_days"]),
        working_day_start=str(t["working_day_start"]),
        working_day_end=str(t["working_day_end"]),
        timezone=str(t["timezone"]),
        alert_before_minutes=int(t["alert_before_minutes"]),
    )
    screening = raw.get("screening", {})
    scoring = raw.get("scoring", {})
    return ThresholdModel(
        version=str(raw["version"]),
        area=str(raw["area"]),
        levels=levels,
        adults=adults,
        rules=tuple(_rule(r) for r in raw["factors"]),
        rag_red=frozenset(raw["rag"]["red"]),
        rag_amber=frozenset(raw["rag"]["amber"]),
        timescales=timescales,
        auto_confirm_levels=frozenset(ThresholdLevel(x) for x in raw["confirmation"]["auto_confirm_levels"]),
        screening_rules=tuple(_screening_rule(r) for r in screening.get("rules", ())),
        default_rag=RagRating(screening.get("default_rag", "green")),
        low_level_cap=int(scoring["low_level_cap"]) if "low_level_cap" in scoring else None,
    )
