"""A synthetic year at the front door, for the commissioning report: seeded, fast, and shaped like the real thing.

- **Volume and season**: fewer contacts at weekends and on bank holidays; schools go quiet in their holidays (the
  summer, Christmas, Easter and half terms) and refer most in the autumn term; police domestic abuse contacts rise
  over Christmas and the summer.
- **Sources** roughly as the national Children in Need census's referral sources: police about 30%, schools 20%,
  health 15%, local authority services 13%, individuals 11%, others the rest.
- **People**: households of one to four children. About a third of contacts are about a household seen before,
  some about several siblings at once; a minority of households have repeat domestic abuse reported by the police.
- **Adults at risk** (no child): about 3% of contacts, from adult social care, health, the police and the public,
  with the Care Act's categories, location and source of risk roughly as the NHS Safeguarding Adults Collection
  reports them (a tenth not recorded) and the s42 test's parts as referrers tell them; drawn from a stream of their
  own, so every other contact of the year is drawn as it was before adults were. Adult social care's records are not
  simulated, so who has an allocated worker (about a third) is drawn too.
- **Decisions** by the real threshold model (`load_model("default")`), on what the notification alone says (the desks'
  findings are not simulated): the front door's screening sets the RAG, `recommend` sets level and outcome; return
  and decision deadlines come from the model's timescales on the hub's working calendar, with most answers in time and
  a few late.

Produces `ContactRow`s directly; `children` are the generator's own true person ids (so the figures are not
confounded by linkage errors, which docs/linkage.md measures on its own), and `findings` are what the hub research
service's emerging-harm rules (emerging_harm.toml) find for each child from the contacts before it, as the service
applies them to each referral (`with_findings`).
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from mash_contracts import Notification, NotificationSubmission
from mash_contracts.threshold import ThresholdModel, load_model
from mash_contracts.vocabulary import ConsentStatus, ProtectiveFactor, RagRating
from mash_runtime.calendar import WorkingCalendar

from .figures import ContactRow
from .harm import Contact, HarmRules, Person, contact_source, evaluate

# Source mix (share of contacts) after the CIN census's sources of referral, in the hub's terms.
SOURCE_MIX = {
    "police": 0.30,
    "education": 0.20,
    "health": 0.15,
    "childrens_social_care": 0.05,
    "early_help": 0.05,
    "adult_social_care": 0.02,
    "housing": 0.02,
    "probation": 0.03,
    "other": 0.05,
    "family_member": 0.06,
    "member_of_public": 0.04,
    "self": 0.03,
}
PROFESSIONAL = {
    "police",
    "education",
    "health",
    "childrens_social_care",
    "early_help",
    "adult_social_care",
    "housing",
    "probation",
    "other",
}
# What each source tends to report (weights); a second concern is added to about one contact in five.
CONCERNS = {
    "police": {
        "domestic_abuse": 50,
        "missing": 14,
        "physical_abuse": 8,
        "child_criminal_exploitation": 6,
        "child_sexual_exploitation": 3,
        "neglect": 8,
        "emotional_abuse": 4,
        "parental_substance_misuse": 4,
        "sexual_abuse": 3,
    },
    "education": {
        "neglect": 25,
        "emotional_abuse": 18,
        "physical_abuse": 10,
        "self_harm": 12,
        "domestic_abuse": 10,
        "parental_mental_health": 8,
        "young_carer": 5,
        "sexual_abuse": 4,
        "radicalisation": 2,
        "child_criminal_exploitation": 3,
        "allegation_against_staff": 3,
    },
    "health": {
        "neglect": 22,
        "parental_mental_health": 20,
        "parental_substance_misuse": 15,
        "self_harm": 14,
        "domestic_abuse": 12,
        "physical_abuse": 8,
        "fabricated_illness": 1,
        "fgm": 1,
        "sexual_abuse": 3,
        "emotional_abuse": 4,
    },
    "childrens_social_care": {
        "neglect": 30,
        "domestic_abuse": 20,
        "emotional_abuse": 15,
        "physical_abuse": 10,
        "parental_substance_misuse": 10,
        "child_sexual_exploitation": 5,
        "missing": 5,
        "sexual_abuse": 5,
    },
    "early_help": {
        "neglect": 35,
        "emotional_abuse": 20,
        "parental_mental_health": 15,
        "domestic_abuse": 15,
        "young_carer": 10,
        "other": 5,
    },
    "adult_social_care": {"parental_mental_health": 40, "parental_substance_misuse": 30, "neglect": 20, "young_carer": 10},
    "housing": {"neglect": 50, "domestic_abuse": 25, "parental_substance_misuse": 15, "other": 10},
    "probation": {"domestic_abuse": 50, "sexual_abuse": 15, "parental_substance_misuse": 20, "other": 15},
    "other": {
        "neglect": 30,
        "emotional_abuse": 20,
        "physical_abuse": 15,
        "other": 20,
        "forced_marriage": 2,
        "honour_based_abuse": 2,
        "trafficking": 1,
        "radicalisation": 5,
        "allegation_against_staff": 5,
    },
    "family_member": {
        "neglect": 35,
        "emotional_abuse": 25,
        "domestic_abuse": 15,
        "parental_substance_misuse": 15,
        "physical_abuse": 10,
    },
    "member_of_public": {"neglect": 45, "physical_abuse": 15, "domestic_abuse": 20, "emotional_abuse": 20},
    "self": {"emotional_abuse": 30, "physical_abuse": 20, "sexual_abuse": 10, "self_harm": 25, "domestic_abuse": 15},
}
# Adults at risk with no child, beyond adult social care's own (share of each source's contacts).
ADULT_SHARE = {"health": 0.06, "police": 0.03, "family_member": 0.05, "member_of_public": 0.05}
# Roughly the Safeguarding Adults Collection's national mix of type, location and source of risk.
ADULT_CONCERNS = {
    "neglect": 32,
    "physical_abuse": 17,
    "financial_abuse": 14,
    "psychological_abuse": 12,
    "self_neglect": 10,
    "domestic_abuse": 6,
    "organisational_abuse": 4,
    "sexual_abuse": 3,
    "discriminatory_abuse": 1,
    "modern_slavery": 1,
}
ADULT_LOCATIONS = {
    "own_home": 47,
    "care_home_residential": 17,
    "care_home_nursing": 10,
    "community": 7,
    "community_service": 3,
    "hospital_acute": 3,
    "hospital_mental_health": 2,
    "hospital_community": 1,
    "other": 5,
    None: 10,
}
ADULT_SOURCES = {"known_to_individual": 47, "service_provider": 34, "unknown_to_individual": 9, None: 10}
ALLOCATED_WORKER = 0.33
DESKS = ("police", "health", "childrens_social_care", "education")
LATE = {
    "police": 0.05,
    "health": 0.11,
    "childrens_social_care": 0.04,
    "education": 0.14,
}  # share of returns after the deadline (Red: half)


def school_holiday(day: date) -> bool:
    """English state-school holidays, approximately (they vary by area): summer, Christmas, Easter and half terms."""
    md = (day.month, day.day)
    return (
        (7, 22) <= md <= (9, 3)
        or md >= (12, 20)
        or md <= (1, 3)
        or (4, 3) <= md <= (4, 19)
        or (10, 25) <= md <= (11, 2)
        or (2, 14) <= md <= (2, 22)
        or (5, 24) <= md <= (6, 1)
    )


def _term_weight(day: date) -> float:
    # Schools refer most in the autumn term, once they know the children; less at the end of the summer term.
    return {9: 1.15, 10: 1.2, 11: 1.25, 12: 1.1, 1: 1.0, 2: 1.0, 3: 1.05, 4: 0.95, 5: 0.95, 6: 0.9, 7: 0.8}.get(day.month, 1.0)


class _Calendar(WorkingCalendar):
    @lru_cache(maxsize=1024)  # noqa: B019 - one calendar per synthetic year, a few hundred days
    def is_working_day(self, day: date) -> bool:
        return super().is_working_day(day)


class _People:
    """Households of children with the generator's own true person ids; some with repeat domestic abuse."""

    def __init__(self, rng: random.Random, start: date):
        self.rng, self.start = rng, start
        self.households: list[list[tuple[str, date]]] = []
        self.abusive: list[int] = []  # households where the police keep being called
        self.seen: list[int] = []
        self.next_person = 0

    def _person(self, dob: date) -> tuple[str, date]:
        self.next_person += 1
        return f"P{self.next_person:07d}", dob

    def new_household(self) -> int:
        size = self.rng.choices((1, 2, 3, 4), (40, 35, 18, 7))[0]
        kids = [self._person(self.start - timedelta(days=self.rng.randrange(0, 18 * 365))) for _ in range(size)]
        self.households.append(kids)
        h = len(self.households) - 1
        if self.rng.random() < 0.12:
            self.abusive.append(h)
        return h

    def household_for(self, source: str, concern: str) -> int:
        r = self.rng.random()
        if concern == "domestic_abuse" and self.abusive and r < 0.45:
            h = self.rng.choice(self.abusive)
        elif self.seen and r < 0.32:
            h = self.rng.choice(self.seen[-1500:])  # recent contacts come back more often than old ones
        else:
            h = self.new_household()
        self.seen.append(h)
        return h


def synthetic_year(
    notifications: int = 10_000, seed: int = 7, start: date = date(2025, 4, 1), model: ThresholdModel | None = None
) -> list[ContactRow]:
    """A year of contacts from `start` (a financial year by default, like the CIN census)."""
    rng = random.Random(seed)
    model = model or load_model("default")
    ts = model.timescales
    cal = _Calendar(ts.timezone, ts.working_day_start, ts.working_day_end)
    days = [start + timedelta(days=i) for i in range((start.replace(year=start.year + 1) - start).days)]
    end_of_year = datetime.combine(days[-1], time(23, 59, 59), UTC)
    pairs, weights = [], []
    for d in days:
        base = 1.0 if cal.is_working_day(d) else 0.35
        for s, share in SOURCE_MIX.items():
            w = base * share
            if s == "education":
                w *= 0.12 if school_holiday(d) or not cal.is_working_day(d) else _term_weight(d)
            if s == "police" and (d.month in (7, 8) or (d.month, d.day) >= (12, 20) or (d.month, d.day) <= (1, 2)):
                w *= 1.2
            pairs.append((d, s))
            weights.append(w)
    draws = sorted(rng.choices(pairs, weights, k=notifications), key=lambda p: p[0])
    people = _People(rng, start)
    rows = []
    for i, (day, source) in enumerate(draws):
        rows.append(_contact(i, day, source, rng, people, model, cal, end_of_year))
    return with_findings(rows, HarmRules.load())


def with_findings(rows: list[ContactRow], rules: HarmRules) -> list[ContactRow]:
    """Each contact with the emerging-harm findings the hub's rules raise for its children, judged on every contact
    about each child up to and including it; the other children named with them count as siblings."""
    seen: dict[str, list[Contact]] = defaultdict(list)
    out = []
    for r in sorted(rows, key=lambda r: r.received_at):
        for child in r.children:
            seen[child].append(
                Contact(
                    referral_id=r.referral_id,
                    received_at=r.received_at,
                    source=contact_source(r.referrer_kind, r.referrer_agency),
                    categories=frozenset(r.categories),
                    rag=r.rag,
                    role="child",
                    household=None,
                    level=r.level,
                    outcome=r.outcome,
                )
            )
        people = [
            Person(
                child,
                f"child {n}",
                "child",
                tuple(seen[child]),
                tuple((other, tuple(seen[other])) for other in r.children if other != child),
            )
            for n, child in enumerate(r.children, 1)
        ]
        found = evaluate(rules, people, r.received_at)
        out.append(dataclasses.replace(r, findings=tuple(sorted({f.finding for f in found}))))
    return out


def _contact(
    i: int, day: date, source: str, rng: random.Random, people: _People, model: ThresholdModel, cal: _Calendar, now: datetime
) -> ContactRow:
    concerns = CONCERNS[source]
    first = rng.choices(list(concerns), list(concerns.values()))[0]
    categories = [first]
    if rng.random() < 0.2:
        second = rng.choices(list(concerns), list(concerns.values()))[0]
        if second != first:
            categories.append(second)
    hour = rng.uniform(0, 24) if source in ("police", "self", "member_of_public") else rng.uniform(8.5, 17.5)
    received = datetime.combine(day, time(0), UTC) + timedelta(hours=hour)
    h = people.household_for(source, first)
    kids = people.households[h]
    chosen = kids if len(kids) > 1 and rng.random() < 0.25 else [rng.choice(kids)]
    unborn = source == "health" and rng.random() < 0.06
    adult_only = source == "adult_social_care" and rng.random() < 0.3
    own = random.Random(f"adult:{i}:{received.isoformat()}")  # a stream of its own: the year draws as it did before
    adult_only = adult_only or own.random() < ADULT_SHARE.get(source, 0)
    told = _adult_at_risk(own) if adult_only else None
    if told is not None:
        categories = told.pop("categories")
    notification = _notification(i, received, source, categories, chosen, unborn, told, rng, model)
    rec = model.recommend(notification, {}, today=received.date())

    due_by = {}
    returns = []
    for desk in DESKS:
        due = _returns_due(cal, model, received, notification.rag)
        allowance = model.timescales.return_hours[notification.rag]  # working hours, or clock hours for Red
        late = rng.random() < LATE[desk] * (0.5 if notification.rag is RagRating.RED else 1)
        spent = allowance * (rng.uniform(1.05, 2.5) if late else rng.betavariate(2, 3))
        at = (
            received + timedelta(hours=spent)
            if notification.rag in model.timescales.around_the_clock
            else cal.add_working_hours(received, spent)
        )
        due_by[desk] = due
        if at <= now:
            returns.append((desk, due, at))
    decision_due = cal.working_days_after(received, model.timescales.decision_working_days)
    ready = max([r[2] for r in returns] + [received])
    if rec.level in model.auto_confirm_levels:
        decided = ready + timedelta(minutes=rng.uniform(0.5, 5))
    else:  # a manager confirms, usually the same working day
        decided = cal.add_working_hours(ready, rng.expovariate(1 / 1.5))
    if rng.random() < 0.04:  # a busy day: the decision slips
        decided = cal.add_working_hours(decided, rng.uniform(2, 12))
    settled = decided <= now and len(returns) == len(DESKS)
    return ContactRow(
        referral_id=notification.referral_id,
        received_at=received,
        referrer_kind=notification.referrer.kind.value,
        referrer_agency=notification.referrer.agency.value if notification.referrer.agency else None,
        categories=tuple(categories),
        rag=notification.rag.value,
        level=int(rec.level) if settled else None,
        outcome=rec.outcome.value if settled else None,
        decided_at=decided if settled else None,
        decision_due_by=decision_due,
        returns=tuple(returns),
        children=() if adult_only else tuple(pid for pid, _ in chosen) + ((f"U{i:07d}",) if unborn else ()),
        findings=(),
        adult=adult_only,
        location_of_risk=told.get("location_of_risk") if told else None,
        source_of_risk=told.get("source_of_risk") if told else None,
        route=(("allocated_team" if own.random() < ALLOCATED_WORKER else "mash") if adult_only and settled else None),
    )


def _adult_at_risk(rng: random.Random) -> dict:
    """An adult's concern categories and what the referrer says of them (concern.adult_at_risk), None left out."""
    categories = [rng.choices(list(ADULT_CONCERNS), list(ADULT_CONCERNS.values()))[0]]
    if rng.random() < 0.15:
        second = rng.choices(list(ADULT_CONCERNS), list(ADULT_CONCERNS.values()))[0]
        if second not in categories:
            categories.append(second)
    location = rng.choices(list(ADULT_LOCATIONS), list(ADULT_LOCATIONS.values()))[0]
    source = "self" if categories == ["self_neglect"] else rng.choices(list(ADULT_SOURCES), list(ADULT_SOURCES.values()))[0]
    told = {
        "categories": categories,
        "care_and_support_needs": rng.choices((True, None, False), (70, 25, 5))[0],
        "unable_to_protect_self": rng.choices((True, None, False), (55, 35, 10))[0],
        "location_of_risk": location,
        "source_of_risk": source,
    }
    return {k: v for k, v in told.items() if v is not None}


def _returns_due(cal: WorkingCalendar, model: ThresholdModel, received: datetime, rag: RagRating) -> datetime:
    # As the decision service's clock does: Red round the clock, the others in working hours.
    hours = model.timescales.return_hours[rag]
    if rag in model.timescales.around_the_clock:
        return received + timedelta(hours=hours)
    return cal.add_working_hours(received, hours)


def _notification(
    i: int,
    received: datetime,
    source: str,
    categories: list[str],
    chosen,
    unborn: bool,
    adult_at_risk: dict | None,
    rng: random.Random,
    model: ThresholdModel,
) -> Notification:
    professional = source in PROFESSIONAL
    referrer = {
        "kind": "professional" if professional else source,
        "agency": source if professional else None,
        "name": "Synthetic referrer",
        "phone": "01632 960000",
    }
    family = f"Household{i}"
    if adult_at_risk is not None:
        subjects = [{"subject_ref": "a1", "role": "adult_at_risk", "family_name": family, "date_of_birth": date(1950, 1, 1)}]
    else:
        subjects = [
            {"subject_ref": f"c{j}", "role": "child", "family_name": family, "date_of_birth": dob}
            for j, (_, dob) in enumerate(chosen)
        ]
        if unborn:
            subjects.append(
                {
                    "subject_ref": "u1",
                    "role": "unborn_child",
                    "family_name": family,
                    "expected_date_of_birth": received.date() + timedelta(days=rng.randrange(20, 200)),
                }
            )
    consent = rng.choices((ConsentStatus.GIVEN, ConsentStatus.NOT_SOUGHT, ConsentStatus.REFUSED), (60, 25, 15))[0]
    protective = rng.sample(list(ProtectiveFactor), k=rng.choices((0, 1, 2), (70, 22, 8))[0])
    submission = {
        "submission_id": f"SYN-{i}",
        "submitted_at": received,
        "referrer": referrer,
        "subjects": subjects,
        "concern": {
            "categories": categories,
            "description": "Synthetic contact for the commissioning report.",
            "immediate_danger": rng.random() < (0.05 if source == "police" else 0.01),
            "protective_factors": [p.value for p in protective],
            "adult_at_risk": adult_at_risk,
        },
        "consent": {"status": consent.value, "reason": None if consent is ConsentStatus.GIVEN else "synthetic"},
    }
    screened = model.screen(NotificationSubmission.model_validate(submission), received.date())
    return Notification.model_validate(
        submission
        | {
            "message_id": uuid.UUID(int=rng.getrandbits(128)),
            "referral_id": f"REF-{rng.getrandbits(48):012X}",
            "received_at": received,
            "rag": screened.rag,
            "statutory_footing": screened.footing,
        }
    )
