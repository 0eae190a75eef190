"""Adults at risk: the Care Act 2014 section 42 test as explained factors, its outcome, and who takes it forward.

The duty to make enquiries (s42(1)-(2)) arises where the local authority has reasonable cause to suspect that an
adult (1) has needs for care and support, (2) is experiencing, or is at risk of, abuse or neglect, and (3) as a result
of those needs is unable to protect themselves. Each part is met (the referrer says so, or adult social care's records
show it), suspected (nobody says either way: a referrer who names someone an adult at risk gives reasonable cause to
suspect it), or not met (the referrer says not, and no record says otherwise).

Self-neglect is its own case (statutory guidance 14.17): it "may not prompt a section 42 enquiry"; whether a
safeguarding response is needed depends on the adult's ability to protect themselves by controlling their own
behaviour. So self-neglect alone leads to an enquiry only when the third part is established, not merely suspected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..messages import Contribution, Factor, NotificationSubmission
from ..vocabulary import CARE_ACT_CATEGORIES, AdultRoute, Agency, ConcernCategory, Outcome, ThresholdLevel

ADULT_OUTCOMES = (
    Outcome.S42_ENQUIRY,
    Outcome.OTHER_SAFEGUARDING_ENQUIRY,
    Outcome.CARE_NEEDS_ASSESSMENT,
    Outcome.ADVICE_AND_SIGNPOSTING,
    Outcome.NO_FURTHER_ACTION,
)
_SELF_NEGLECT = CARE_ACT_CATEGORIES["self-neglect"]


class Part(StrEnum):
    MET = "met"
    SUSPECTED = "suspected"
    NOT_MET = "not met"


@dataclass(frozen=True)
class AdultsModel:
    """The area's settings for adults at risk (the model file's [adults] table)."""

    recipients: tuple[Agency, ...]
    outcomes: dict[Outcome, tuple[ThresholdLevel, str]]  # outcome -> its level number and name
    needs_findings: frozenset[str]
    unable_findings: frozenset[str]
    allocated_worker_finding: str
    records_agency: Agency = Agency.ADULT_SOCIAL_CARE


@dataclass(frozen=True)
class AdultAssessment:
    outcome: Outcome
    level: ThresholdLevel
    level_name: str
    factors: tuple[Factor, ...]
    route: AdultRoute
    route_detail: str | None


def assess(model: AdultsModel, n: NotificationSubmission, contributions: dict[Agency, Contribution]) -> AdultAssessment:
    details = n.concern.adult_at_risk
    needs, needs_factor = _part(
        1,
        "care and support needs",
        details.care_and_support_needs if details else None,
        model.needs_findings,
        contributions,
        "the referrer says the adult has needs for care and support",
        "the referrer says the adult has no needs for care and support",
    )
    categories = [name for name, members in CARE_ACT_CATEGORIES.items() if set(n.concern.categories) & members]
    abuse = Part.MET if categories else Part.NOT_MET
    abuse_factor = Factor(
        name=f"s42 test part 2, abuse or neglect: {abuse.value}",
        source="notification",
        weight=0,
        detail=(
            f"Care Act 2014 s42(1)(b): the concern is {', '.join(categories)} (the statutory guidance's categories of "
            "abuse and neglect)."
            if categories
            else "Care Act 2014 s42(1)(b): the concern names none of the statutory guidance's ten categories of abuse "
            "and neglect."
        ),
    )
    unable, unable_factor = _part(
        3,
        "unable to protect themselves",
        details.unable_to_protect_self if details else None,
        model.unable_findings,
        contributions,
        "the referrer says the adult cannot protect themselves because of those needs",
        "the referrer says the adult can protect themselves",
    )
    only_self_neglect = bool(categories) and set(n.concern.categories) & _flatten() <= _SELF_NEGLECT
    outcome, why = _outcome(needs, abuse, unable, only_self_neglect)
    level, name = model.outcomes[outcome]
    factors = [needs_factor, abuse_factor, unable_factor]
    if only_self_neglect:
        factors.append(
            Factor(
                name="self-neglect: an enquiry only when the adult cannot protect themselves",
                source="model",
                weight=0,
                detail="Care and support statutory guidance 14.17: self-neglect may not prompt a section 42 enquiry; "
                "it depends on the adult's ability to protect themselves by controlling their own behaviour, so the "
                f"third part must be established, not only suspected. Here it is {unable.value}.",
            )
        )
    if details and details.desired_outcomes:
        factors.append(
            Factor(
                name="the adult's desired outcomes are recorded",
                source="notification",
                weight=0,
                detail=f"Making Safeguarding Personal: {len(details.desired_outcomes)} outcome(s) the adult wants, "
                "carried in the information product for whoever takes this forward.",
            )
        )
    route, route_detail, route_factor = _route(model, contributions)
    factors.append(route_factor)
    factors.append(Factor(name=f"s42 test: {name}", source="model", weight=0, detail=f"{why} Outcome: {name}."))
    return AdultAssessment(outcome, level, name, tuple(factors), route, route_detail)


def _flatten() -> frozenset[ConcernCategory]:
    return frozenset(c for members in CARE_ACT_CATEGORIES.values() for c in members)


def _part(
    number: int,
    title: str,
    said: bool | None,
    findings: frozenset[str],
    contributions: dict[Agency, Contribution],
    said_yes: str,
    said_no: str,
) -> tuple[Part, Factor]:
    records = [
        (agency, finding, c)
        for agency, c in sorted(contributions.items())
        for finding in sorted(findings)
        if finding in c.findings
    ]
    evidence = [
        f"{agency.value} reported {finding.replace('_', ' ')}"
        + (f" ({c.finding_explanations[finding]})" if finding in c.finding_explanations else "")
        for agency, finding, c in records
    ]
    if said is True:
        evidence.insert(0, said_yes)
    elif said is False:
        evidence.insert(0, said_no)
    if said is True or records:
        part = Part.MET
    elif said is False:
        part = Part.NOT_MET
    else:
        part = Part.SUSPECTED
        evidence.append(
            "nobody says either way: the referrer names them an adult at risk, which gives reasonable cause to suspect it"
        )
    law = {1: "s42(1)(a)", 3: "s42(1)(c)"}[number]
    return part, Factor(
        name=f"s42 test part {number}, {title}: {part.value}",
        source=", ".join(dict.fromkeys(a.value for a, _, _ in records)) or "notification",
        weight=0,
        detail=f"Care Act 2014 {law}: " + "; ".join(evidence) + ".",
        disclosure_ids=[c.disclosure_id for _, _, c in records if c.disclosure_id],
    )


def _outcome(needs: Part, abuse: Part, unable: Part, only_self_neglect: bool) -> tuple[Outcome, str]:
    if abuse is Part.NOT_MET:
        if needs is Part.MET:
            return (
                Outcome.CARE_NEEDS_ASSESSMENT,
                "No abuse or neglect is described, but the adult has needs for care and support.",
            )
        if needs is Part.NOT_MET:
            return Outcome.NO_FURTHER_ACTION, "No abuse or neglect is described and the adult has no needs for care and support."
        return Outcome.ADVICE_AND_SIGNPOSTING, "No abuse or neglect is described and the adult's needs are not known."
    if only_self_neglect:
        if needs is not Part.NOT_MET and unable is Part.MET:
            return Outcome.S42_ENQUIRY, "Self-neglect by an adult with care and support needs who cannot protect themselves."
        if needs is Part.NOT_MET:
            return Outcome.ADVICE_AND_SIGNPOSTING, "Self-neglect, but the adult has no needs for care and support."
        return (
            Outcome.CARE_NEEDS_ASSESSMENT,
            "Self-neglect, without evidence the adult cannot protect themselves: assess their needs.",
        )
    if Part.NOT_MET in (needs, unable):
        return (
            Outcome.OTHER_SAFEGUARDING_ENQUIRY,
            "Abuse or neglect, but the section 42 duty is not met (part "
            + " and ".join(str(i) for i, p in ((1, needs), (3, unable)) if p is Part.NOT_MET)
            + " not met): an enquiry at the authority's discretion.",
        )
    return Outcome.S42_ENQUIRY, "Reasonable cause to suspect all three parts of the section 42 test."


def _route(model: AdultsModel, contributions: dict[Agency, Contribution]) -> tuple[AdultRoute, str | None, Factor]:
    records = contributions.get(model.records_agency)
    if records is not None and model.allocated_worker_finding in records.findings:
        detail = records.finding_explanations.get(model.allocated_worker_finding) or "an allocated worker"
        return (
            AdultRoute.ALLOCATED_TEAM,
            detail,
            Factor(
                name="an allocated worker: the team's Safeguarding Adults Practice Consultant",
                source=model.records_agency.value,
                weight=0,
                detail=f"{model.records_agency.value} reports {detail}. The concern goes to that team and its "
                "Safeguarding Adults Practice Consultant, who mirrors the MASH steps on the same clock, instead of the "
                "MASH queue.",
                disclosure_ids=[records.disclosure_id] if records.disclosure_id else [],
            ),
        )
    why = (
        f"{model.records_agency.value} reports no allocated worker"
        if records is not None
        else f"no answer from {model.records_agency.value} about an allocated worker"
    )
    return (
        AdultRoute.MASH,
        None,
        Factor(name="no allocated worker: through the MASH", source="model", weight=0, detail=f"{why}: the MASH decides."),
    )


def parse(raw: dict[str, Any], name: Any) -> AdultsModel:
    outcomes = {Outcome(k): (ThresholdLevel(int(v["level"])), name(v["name"])) for k, v in raw["outcomes"].items()}
    if set(outcomes) != set(ADULT_OUTCOMES):
        raise ValueError(f"[adults.outcomes] must name exactly {[o.value for o in ADULT_OUTCOMES]}")
    return AdultsModel(
        recipients=tuple(Agency(a) for a in raw["recipients"]),
        outcomes=outcomes,
        needs_findings=frozenset(raw["needs_findings"]),
        unable_findings=frozenset(raw["unable_findings"]),
        allocated_worker_finding=str(raw["allocated_worker_finding"]),
    )
