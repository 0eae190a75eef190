"""The commissioning and oversight figures: pure functions from the hub's contacts (codes, times and linked ids
only) to published aggregates. No Kafka, no database: `history.contact_rows` (the service) and `year.py` (a synthetic
year) feed it; `report.py` renders what it returns.

Everything that leaves here has been through `suppression`: counts of 1-4 are "c", with secondary suppression
across every table that shares a total, and a rate computed from a suppressed count is suppressed too. No row is
ever about one contact or one child; ids are used only to count.

Definitions (each is also in the report's notes):
- a **contact** is a notification's first revision, counted in the month it was received (UTC);
- a contact **became a referral** when it was decided at level 3 or above with an outcome that goes to children's
  social care (a child in need assessment, a strategy discussion or a pre-birth assessment); the conversion rate is
  over all contacts from the source (the few undecided at the period's end are too small to show by source);
- **decided within one working day**: decided at or before the one-working-day deadline (from the decision, else
  computed on the hub's working calendar);
- a desk's **return** is within its RAG deadline when researched at or before the due time the desk was given;
- a **re-referral** (as the DfE measures it) is a referral, counted per child, for a child who had another referral
  in the twelve months before it; the hub's history is the look-back, so the first months of a new hub read low;
- the **contacts table in the SSD shape** follows the Standard Safeguarding Dataset's `ssd_contacts`
  (`cont_contact_source_code` as in the CIN census, the `cont_contact_outcome_json` flags), aggregated: counts by
  month x contact source x outcome flag, never a row per contact;
- an **adult's concern** (the NHS Safeguarding Adults Collection's word) is a contact about an adult at risk with no
  child (the Care Act footing; a mixed household's adults' referral is one); it **started an enquiry** when its newest
  decision is a section 42 enquiry or another safeguarding enquiry. Its type of risk is the Care Act statutory
  guidance's ten categories (self-neglect its own), its source and location of risk the referrer's, its route the
  decision's. The adults are in the contacts tables too, and the counts are related so that what one table hides
  the other cannot give back.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta

from mash_contracts.topics import DESK_AGENCIES
from mash_contracts.vocabulary import (
    CARE_ACT_CATEGORIES,
    AdultRoute,
    Agency,
    ConcernCategory,
    LocationOfRisk,
    Outcome,
    RagRating,
    ReferrerKind,
    SourceOfRisk,
)
from mash_runtime.calendar import WorkingCalendar

from .suppression import SUPPRESSED, Published, Sum, grid, rate, suppress

UNDECIDED = "not yet decided"
REFERRAL_OUTCOMES = frozenset(
    {Outcome.CIN_ASSESSMENT.value, Outcome.STRATEGY_DISCUSSION.value, Outcome.PRE_BIRTH_ASSESSMENT.value}
)
REFERRAL_FROM_LEVEL = 3
RE_REFERRAL_DAYS = 365
# Every installed desk (discovered, as the mesh finds them), then the hub's own research.
DESKS = (*(a.value for a in DESK_AGENCIES), Agency.HUB_RESEARCH.value)
RAGS = (RagRating.RED.value, RagRating.AMBER.value, RagRating.GREEN.value, RagRating.BLUE.value)

# Sources in the order of the CIN census's source-of-referral list; labels are what a reader sees.
SOURCES = {
    "police": "Police",
    "education": "Schools and education",
    "health": "Health services",
    "childrens_social_care": "Children's social care",
    "early_help": "Early help",
    "adult_social_care": "Adult social care",
    "housing": "Housing",
    "probation": "Probation",
    "other": "Other agency",
    "family_member": "Family member",
    "member_of_public": "Member of the public",
    "self": "Self",
}
# CIN census / SSD `cont_contact_source_code` for each source (CIN census 2024-25 guide, source of referral). The hub
# does not know a school from the LA's education service, or a GP from A&E, so each agency takes its broad code.
SOURCE_CODES = {
    "family_member": "1A",
    "member_of_public": "1D",
    "self": "1C",
    "education": "2A",
    "health": "3F",
    "housing": "4",
    "childrens_social_care": "5A",
    "early_help": "5B",
    "adult_social_care": "5B",
    "police": "6",
    "probation": "7",
    "other": "8",
}
CODE_LABELS = {
    "1A": "1A Individual: family member, relative or carer",
    "1C": "1C Individual: self",
    "1D": "1D Individual: other",
    "2A": "2A Schools",
    "3F": "3F Health services: other",
    "4": "4 Housing",
    "5A": "5A LA services: social care",
    "5B": "5B LA services: other internal",
    "6": "6 Police",
    "7": "7 Other legal agency",
    "8": "8 Other",
}
# The SSD contact outcome flags (cont_contact_outcome_json keys) each hub outcome sets; one per contact here.
FLAGS = (
    "NEW_REFERRAL_FLAG",
    "CP_ENQUIRY_FLAG",
    "NFA_FLAG",
    "ADVICE_FLAG",
    "MISSING_FLAG",
    "OTHER_OUTCOMES_EXIST_FLAG",
    "NO_OUTCOME_YET",
)
LEVEL_LABELS: dict[int | str, str] = {
    1: "1 Universal",
    2: "2 Early help",
    3: "3 Child in need / adult at risk",
    4: "4 Child protection",
}


@dataclass(frozen=True)
class ContactRow:
    """One contact (a notification's first revision) as the hub saw it: ids, codes, times only."""

    referral_id: str
    received_at: datetime  # UTC
    referrer_kind: str  # ReferrerKind value
    referrer_agency: str | None  # Agency value for professionals
    categories: tuple[str, ...]  # ConcernCategory values
    rag: str  # screening RAG
    level: int | None  # ThresholdLevel decided (None: not yet decided)
    outcome: str | None  # Outcome value
    decided_at: datetime | None
    decision_due_by: datetime | None  # the one-working-day deadline
    returns: tuple[tuple[str, datetime | None, datetime], ...]  # each desk's (agency, due_by, researched_at)
    children: tuple[str, ...]  # the hub's linked person ids of the children it is about
    findings: tuple[str, ...]  # emerging-harm findings the hub research service raised on it
    adult: bool = False  # about an adult at risk, no child (the Care Act footing)
    location_of_risk: str | None = None  # LocationOfRisk value, when the referrer said
    source_of_risk: str | None = None  # SourceOfRisk value, when the referrer said
    route: str | None = None  # AdultRoute value once decided


@dataclass
class Table:
    """One published table: suppressed counts ("c"), with the margins that are published and an optional rate."""

    name: str  # the CSV's file name
    title: str
    row_label: str
    rows: list[str]
    columns: list[str]
    cells: list[list[Published]]
    row_totals: list[Published] | None = None
    column_totals: list[Published] | None = None
    total: Published | None = None
    rate_label: str | None = None  # a percentage per row (and overall), from published counts only
    rates: list[float | str | None] | None = None
    total_rate: float | str | None = None
    unit: str = "contacts"
    note: str = ""


@dataclass
class Headline:
    label: str
    value: Published | float | None
    unit: str  # "count" or "%"
    detail: str


@dataclass
class Figures:
    period_start: str  # first day, ISO date
    period_end: str  # last day, inclusive
    generated_at: str
    headline: list[Headline]
    tables: list[Table]
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict | str) -> Figures:
        raw = json.loads(raw) if isinstance(raw, str) else raw
        try:
            return cls(
                raw["period_start"],
                raw["period_end"],
                raw["generated_at"],
                [Headline(**h) for h in raw["headline"]],
                [Table(**t) for t in raw["tables"]],
                list(raw.get("notes", [])),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"not the figures GET /figures answers: {type(e).__name__} {e}") from None


def source_of(row: ContactRow) -> str:
    if row.referrer_kind == ReferrerKind.PROFESSIONAL.value:
        return row.referrer_agency if row.referrer_agency in SOURCES else "other"
    return row.referrer_kind if row.referrer_kind in SOURCES else "other"


def became_referral(row: ContactRow) -> bool:
    return row.level is not None and row.level >= REFERRAL_FROM_LEVEL and row.outcome in REFERRAL_OUTCOMES


def flag_of(row: ContactRow) -> str:
    return _flag(row.level, row.outcome)


def _flag(level: int | None, outcome: str | None) -> str:
    if outcome is None:
        return "NO_OUTCOME_YET"
    if level is not None and level >= REFERRAL_FROM_LEVEL and outcome in REFERRAL_OUTCOMES:
        return "CP_ENQUIRY_FLAG" if outcome == Outcome.STRATEGY_DISCUSSION.value else "NEW_REFERRAL_FLAG"
    return {
        Outcome.NO_FURTHER_ACTION.value: "NFA_FLAG",
        Outcome.ADVICE_AND_SIGNPOSTING.value: "ADVICE_FLAG",
        Outcome.MISSING_CHILD_RESPONSE.value: "MISSING_FLAG",
    }.get(outcome, "OTHER_OUTCOMES_EXIST_FLAG")


def month_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


def months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def default_period(rows: list[ContactRow]) -> tuple[date, date]:
    """The months the contacts span, at most the twelve to the latest."""
    if not rows:
        today = datetime.now(UTC).date()
        return today.replace(day=1), today
    last = max(r.received_at for r in rows).astimezone(UTC).date()
    first = min(r.received_at for r in rows).astimezone(UTC).date().replace(day=1)
    year_back = (last.replace(day=1) - timedelta(days=335)).replace(day=1)
    return max(first, year_back), last


def figures(
    rows: Iterable[ContactRow],
    start: date | None = None,
    end: date | None = None,
    calendar: WorkingCalendar | None = None,
    now: datetime | None = None,
) -> Figures:
    """The published figures for contacts received from `start` to `end` (inclusive); earlier contacts are the
    look-back for re-referrals."""
    history = sorted(rows, key=lambda r: r.received_at)
    if start is None or end is None:
        start, end = default_period(history)
    ms = months(start, end)
    counts, sums = counts_and_relations(history, start, end, calendar)
    published = suppress(counts, sums, unpublished_keys(counts), keep=_keep)
    p = published.__getitem__

    sources = [s for s in SOURCES if counts[("n", "*", s)]]
    codes = [c for c in CODE_LABELS if counts[("ssd", "*", c, "*")]]
    tables = [
        _grid_table(
            "contacts_by_month_and_source",
            "Contacts by month and source",
            "month",
            ms,
            sources,
            lambda m, s: p(("n", m, s)),
            lambda m: p(("n", m, "*")),
            lambda s: p(("n", "*", s)),
            p(("n", "*", "*")),
            column_labels=[SOURCES[s] for s in sources],
        ),
        _category_table(ms, counts, p),
        _level_table(counts, p),
        _outcome_table(counts, p),
        _conversion_table(codes, p),
        _timeliness_table(ms, p),
        _returns_table(counts, p),
        _re_referral_table(ms, p),
        _findings_table(ms, counts, p),
        _ssd_table(ms, codes, counts, p),
        *_adult_tables(counts, p),
    ]
    headline = _headline(tables, p, counts)
    notes = [
        "Counts of 1 to 4 are shown as c, and another count in the same row or column is hidden too wherever a total "
        "could reveal one; zero is shown. A rate worked out from a hidden count is hidden.",
        "A contact is a notification's first revision, counted in the month it was received. It became a referral when "
        "decided at level 3 or above with a child in need assessment, a strategy discussion or a pre-birth assessment.",
        "Re-referrals are counted per child, as the DfE does: a referral for a child referred in the previous 12 months "
        "(the hub's own history is the look-back).",
        "Contact source codes and outcome flags follow the Standard Safeguarding Dataset's ssd_contacts "
        "(cont_contact_source_code, cont_contact_outcome_json) and the CIN census source-of-referral codes.",
        "Adults at risk (contacts about an adult with no child, decided under the Care Act 2014 s42) are broken down as "
        "the NHS Safeguarding Adults Collection does: concerns raised and the enquiries they started (section 42 and "
        "other safeguarding enquiries, by the newest decision), the source of the referral, type of risk (the "
        "statutory guidance's ten categories; a concern can name several), source of risk and location of risk as the "
        "referrer gave them, and who took each forward: through the MASH or the allocated worker's team.",
    ]
    return Figures(
        start.isoformat(), end.isoformat(), (now or datetime.now(UTC)).isoformat(timespec="seconds"), headline, tables, notes
    )


def counts_and_relations(
    history: list[ContactRow], start: date, end: date, calendar: WorkingCalendar | None = None
) -> tuple[dict, list[Sum]]:
    """Every count the report publishes, by key, and every exact relation between them (before suppression)."""
    calendar = calendar or WorkingCalendar()
    in_period = [r for r in history if start <= r.received_at.astimezone(UTC).date() <= end]
    ms = months(start, end)
    counts: dict = {}
    sums: list[Sum] = []
    _contacts_space(in_period, ms, calendar, counts, sums)
    _categories(in_period, ms, counts, sums)
    _returns(in_period, counts, sums)
    _re_referrals(history, in_period, ms, counts, sums)
    _findings(in_period, ms, counts, sums)
    _adults(in_period, counts, sums)
    return counts, sums


def unpublished_keys(counts: dict) -> set:
    """Counts used only to relate tables (each source code's yearly count per outcome flag): never shown."""
    return (
        {k for k in counts if k[0] == "ssd" and k[1] == "*" and k[2] != "*" and k[3] != "*"}
        | {k for k in counts if k[0] == "undecided" and k[1] == "*" and k[2] != "*"}
        | _adults_unpublished(counts)
    )


def _keep(key) -> int:
    # When a second count must go, keep the ones rates and headlines are made of: referrals, contacts, totals.
    if key[0] == "conv" and key[2] == "referral":
        return 2
    if key[0] == "n" or (key[0] == "ssd" and key[-1] == "*") or (key[0] == "timing" and key[1] == "*"):
        return 1
    # The adults' totals are counts of the contacts tables too: hiding one there would spread through every table.
    if key[:2] == ("sac", "outcome") or key == ("sac", "n"):
        return 1
    return 0


def figures_json(rows: Iterable[ContactRow], start: date | None = None, end: date | None = None) -> dict:
    """What `GET /figures` answers: the figures as plain JSON (already suppressed)."""
    return figures(rows, start, end).to_json()


# -- the contact space: every table counting contacts, with the totals they share --------------------------------------


def _decision_timing(r: ContactRow, calendar: WorkingCalendar) -> str:
    if r.outcome is None or r.decided_at is None:
        return "undecided"
    due = r.decision_due_by or calendar.working_days_after(r.received_at, 1)
    return "within" if r.decided_at <= due else "late"


def _contacts_space(rows: list[ContactRow], ms: list[str], calendar: WorkingCalendar, counts: dict, sums: list[Sum]) -> None:
    """Contacts by month x source (the SSD table's rows refine it by outcome flag), by outcome, level, conversion and
    decision timeliness. Counts that describe one set of contacts share a key, and every other exact relation between
    them is declared, so a count hidden in one table cannot be worked out from another."""
    n: Counter[tuple[str, str]] = Counter()
    ssd: Counter[tuple[str, str, str]] = Counter()
    outcome: Counter[str] = Counter()
    level: Counter[int | str] = Counter()
    timing: Counter[tuple[str, str]] = Counter()
    for r in rows:
        m, s = month_of(r.received_at), source_of(r)
        n[m, s] += 1
        ssd[m, SOURCE_CODES[s], flag_of(r)] += 1
        outcome[r.outcome or UNDECIDED] += 1
        level["undecided" if r.level is None or r.outcome is None else int(r.level)] += 1
        timing[m, _decision_timing(r, calendar)] += 1
    sources, codes = list(SOURCES), list(CODE_LABELS)

    def put(key, value):
        counts[key] = value

    for m in ms:
        for s in sources:
            put(("n", m, s), n[m, s])
        put(("n", m, "*"), sum(n[m, s] for s in sources))
    for s in sources:
        put(("n", "*", s), sum(n[m, s] for m in ms))
    put(("n", "*", "*"), len(rows))
    sums += grid(ms, sources, lambda m, s: ("n", m, s), lambda m: ("n", m, "*"), lambda s: ("n", "*", s), ("n", "*", "*"))

    # The SSD table: month x code rows, flag columns. "No outcome yet" is the undecided count, shared by key.
    def ssd_key(m, c, f):
        return ("undecided", m, c) if f == "NO_OUTCOME_YET" else ("ssd", m, c, f)

    for m in ms:
        for c in codes:
            for f in FLAGS:
                put(ssd_key(m, c, f), ssd[m, c, f])
            put(("ssd", m, c, "*"), sum(ssd[m, c, f] for f in FLAGS))
            # a row's total is the sources behind its code in the month x source table
            sums.append(Sum(("ssd", m, c, "*"), tuple(("n", m, s) for s in sources if SOURCE_CODES[s] == c)))
        put(("undecided", m, "*"), sum(ssd[m, c, "NO_OUTCOME_YET"] for c in codes))
        sums.append(Sum(("n", m, "*"), tuple(("ssd", m, c, "*") for c in codes)))
    for c in codes:
        for f in FLAGS:
            put(ssd_key("*", c, f), sum(ssd[m, c, f] for m in ms))
            sums.append(Sum(ssd_key("*", c, f), tuple(ssd_key(m, c, f) for m in ms)))
        put(("ssd", "*", c, "*"), sum(counts[("ssd", m, c, "*")] for m in ms))
        sums.append(Sum(("ssd", "*", c, "*"), tuple(("n", "*", s) for s in sources if SOURCE_CODES[s] == c)))
    for f in FLAGS:
        put(ssd_key("*", "*", f), sum(ssd[m, c, f] for m in ms for c in codes))
    sums += grid(
        [(m, c) for m in ms for c in codes],
        FLAGS,
        lambda mc, f: ssd_key(mc[0], mc[1], f),
        lambda mc: ("ssd", mc[0], mc[1], "*"),
        lambda f: ssd_key("*", "*", f),
        ("n", "*", "*"),
    )
    sums += [Sum(ssd_key(m, "*", f), tuple(ssd_key(m, c, f) for c in codes)) for m in ms for f in FLAGS if f == "NO_OUTCOME_YET"]

    # Conversion by contact source code: the flags grouped. The few contacts still undecided at the period's end go
    # with "not (yet) a referral": shown by source they would be small numbers, and hiding them would cost the rates.
    groups = {
        "referral": ("NEW_REFERRAL_FLAG", "CP_ENQUIRY_FLAG"),
        "not": ("NFA_FLAG", "ADVICE_FLAG", "MISSING_FLAG", "OTHER_OUTCOMES_EXIST_FLAG", "NO_OUTCOME_YET"),
    }
    for c in codes + ["*"]:
        for g, flags in groups.items():
            put(("conv", c, g), sum(counts[ssd_key("*", c, f)] for f in flags))
            sums.append(Sum(("conv", c, g), tuple(ssd_key("*", c, f) for f in flags)))
    sums += grid(
        codes,
        ["referral", "not"],
        lambda c, g: ("conv", c, g),
        lambda c: ("ssd", "*", c, "*"),
        lambda g: ("conv", "*", g),
        ("n", "*", "*"),
    )

    # Outcomes over the period; each flag's total is the sum of the outcomes behind it (declared only when exact:
    # a manager's override can pair an outcome with an unusual level).
    out_keys = [o.value for o in Outcome]
    for o in out_keys:
        put(("outcome", o), outcome[o])
    counts_undecided = counts[("undecided", "*", "*")]
    sums.append(Sum(("n", "*", "*"), tuple(("outcome", o) for o in out_keys) + (("undecided", "*", "*"),)))
    by_flag = defaultdict(list)
    for o in out_keys:
        by_flag[_flag(4 if o in REFERRAL_OUTCOMES else 1, o)].append(o)
    for f, os_ in by_flag.items():
        if counts[ssd_key("*", "*", f)] == sum(outcome[o] for o in os_):
            sums.append(Sum(ssd_key("*", "*", f), tuple(("outcome", o) for o in os_)))

    # Levels: the undecided are the same contacts as above.
    for lv in (1, 2, 3, 4):
        put(("level", lv), level[lv])
    assert level["undecided"] == counts_undecided
    sums.append(Sum(("n", "*", "*"), tuple(("level", lv) for lv in (1, 2, 3, 4)) + (("undecided", "*", "*"),)))
    # At level 4 the model always asks for a strategy discussion; when no override broke that, a reader could equate them.
    if level[4] == outcome[Outcome.STRATEGY_DISCUSSION.value]:
        sums.append(Sum(("level", 4), (("outcome", Outcome.STRATEGY_DISCUSSION.value),)))

    # Decision timeliness by month: within, late, and the undecided (shared keys again).
    for m in ms:
        for t in ("within", "late"):
            put(("timing", m, t), timing[m, t])
        assert timing[m, "undecided"] == counts[("undecided", m, "*")]
    for t in ("within", "late"):
        put(("timing", "*", t), sum(timing[m, t] for m in ms))
    sums += grid(
        ms,
        ["within", "late", "undecided"],
        lambda m, t: ("undecided", m, "*") if t == "undecided" else ("timing", m, t),
        lambda m: ("n", m, "*"),
        lambda t: ("undecided", "*", "*") if t == "undecided" else ("timing", "*", t),
        ("n", "*", "*"),
    )


def _categories(rows: list[ContactRow], ms: list[str], counts: dict, sums: list[Sum]) -> None:
    """Concern categories by month. A contact can name several, so the months' columns have no total (it would count
    concerns, not contacts) and this table shares no total with the others."""
    c = Counter((month_of(r.received_at), cat) for r in rows for cat in set(r.categories))
    cats = [k.value for k in ConcernCategory]
    for cat in cats:
        for m in ms:
            counts[("cat", cat, m)] = c[m, cat]
        counts[("cat", cat, "*")] = sum(c[m, cat] for m in ms)
    sums += grid(cats, ms, lambda cat, m: ("cat", cat, m), lambda cat: ("cat", cat, "*"))


def _returns(rows: list[ContactRow], counts: dict, sums: list[Sum]) -> None:
    """Desks' returns against their RAG deadline (a return is counted, not a contact)."""
    c: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        for agency, due_by, researched_at in r.returns:
            if due_by is not None and agency in DESKS and r.rag in RAGS:
                c[agency, r.rag, "within" if researched_at <= due_by else "late"] += 1
    lines = [(a, rag) for a in DESKS for rag in RAGS]
    for a, rag in lines:
        for t in ("within", "late"):
            counts[("ret", a, rag, t)] = c[a, rag, t]
        counts[("ret", a, rag, "*")] = c[a, rag, "within"] + c[a, rag, "late"]
    for t in ("within", "late"):
        counts[("ret", "*", "*", t)] = sum(c[a, rag, t] for a, rag in lines)
    counts[("ret", "*", "*", "*")] = sum(c.values())
    sums += grid(
        lines,
        ["within", "late"],
        lambda ar, t: ("ret", *ar, t),
        lambda ar: ("ret", *ar, "*"),
        lambda t: ("ret", "*", "*", t),
        ("ret", "*", "*", "*"),
    )


def _re_referrals(history: list[ContactRow], rows: list[ContactRow], ms: list[str], counts: dict, sums: list[Sum]) -> None:
    """Referrals per child in the period, and those within 12 months of the child's previous referral."""
    referred: dict[str, list[datetime]] = defaultdict(list)
    for r in history:
        if became_referral(r):
            for child in set(r.children):
                referred[child].append(r.received_at)
    c: Counter[tuple[str, str]] = Counter()
    for r in rows:
        if not became_referral(r):
            continue
        for child in set(r.children):
            earlier = [t for t in referred[child] if t < r.received_at and (r.received_at - t).days <= RE_REFERRAL_DAYS]
            c[month_of(r.received_at), "re" if earlier else "first"] += 1
    for m in ms:
        for k in ("re", "first"):
            counts[("rr", m, k)] = c[m, k]
        counts[("rr", m, "*")] = c[m, "re"] + c[m, "first"]
    for k in ("re", "first"):
        counts[("rr", "*", k)] = sum(c[m, k] for m in ms)
    counts[("rr", "*", "*")] = sum(counts[("rr", m, "*")] for m in ms)
    sums += grid(
        ms, ["re", "first"], lambda m, k: ("rr", m, k), lambda m: ("rr", m, "*"), lambda k: ("rr", "*", k), ("rr", "*", "*")
    )


def _findings(rows: list[ContactRow], ms: list[str], counts: dict, sums: list[Sum]) -> None:
    """Repeat-concern (emerging-harm) findings raised, by kind and month; and the contacts with any."""
    c = Counter((f, month_of(r.received_at)) for r in rows for f in set(r.findings))
    kinds = sorted({f for f, _ in c})
    for f in kinds:
        for m in ms:
            counts[("find", f, m)] = c[f, m]
        counts[("find", f, "*")] = sum(c[f, m] for m in ms)
    for m in ms:
        counts[("find", "*", m)] = sum(c[f, m] for f in kinds)
    counts[("find", "*", "*")] = sum(c[f, m] for f in kinds for m in ms)
    counts[("flagged",)] = sum(1 for r in rows if r.findings)
    if kinds:
        sums += grid(
            kinds, ms, lambda f, m: ("find", f, m), lambda f: ("find", f, "*"), lambda m: ("find", "*", m), ("find", "*", "*")
        )


ADULT_SOURCES = [v.value for v in SourceOfRisk] + ["not_recorded"]
ADULT_LOCATIONS = [v.value for v in LocationOfRisk] + ["not_recorded"]
# A decision made before decisions named the adult route has none ("not_recorded"); a concern not yet decided has
# no route yet.
ADULT_ROUTES = [v.value for v in AdultRoute] + ["not_recorded", "undecided"]
ROUTE_LABELS = {
    AdultRoute.MASH.value: "through the MASH",
    AdultRoute.ALLOCATED_TEAM.value: "the allocated worker's team",
    "not_recorded": "route not recorded",
    "undecided": UNDECIDED,
}
ENQUIRIES = (Outcome.S42_ENQUIRY.value, Outcome.OTHER_SAFEGUARDING_ENQUIRY.value)


def _route(r: ContactRow) -> str:
    if r.outcome is None:
        return "undecided"
    return r.route if r.route is not None and r.route in {v.value for v in AdultRoute} else "not_recorded"


def _adults(rows: list[ContactRow], counts: dict, sums: list[Sum]) -> None:
    """The adults' contacts (the Safeguarding Adults Collection's concerns) by source of the referral, type, source
    and location of risk, and by route, with the enquiries they started.

    The adults are also in the contacts tables, so each adult count is tied to the count there it is part of, through
    the rest of the contacts (keyed "sac~", never shown): a count hidden in one cannot be had by subtraction from the
    other, and a small number of children left over is protected like any other."""
    adults = [r for r in rows if r.adult]
    rest = [r for r in rows if not r.adult]
    counts[("sac", "n")] = len(adults)
    counts[("sac~", "n")] = len(rest)
    sums.append(Sum(("n", "*", "*"), (("sac", "n"), ("sac~", "n"))))

    mine, theirs = Counter(source_of(r) for r in adults), Counter(source_of(r) for r in rest)
    for s in SOURCES:
        counts[("sac", "referrer", s)], counts[("sac~", "referrer", s)] = mine[s], theirs[s]
        sums.append(Sum(("n", "*", s), (("sac", "referrer", s), ("sac~", "referrer", s))))
    sums += grid(SOURCES, ["n"], lambda s, _: ("sac", "referrer", s), column_total=lambda _: ("sac", "n"))

    for name, members in CARE_ACT_CATEGORIES.items():  # several per contact: no total
        named = {c.value for c in members}
        counts[("sac", "type", name)] = sum(1 for r in adults if named & set(r.categories))
        if len(named) == 1:  # one concern category: exactly part of that category's count in the contacts tables
            [cat] = named
            counts[("sac~", "cat", cat)] = sum(1 for r in rest if cat in r.categories)
            sums.append(Sum(("cat", cat, "*"), (("sac", "type", name), ("sac~", "cat", cat))))

    for kind, values, of in (
        ("source", ADULT_SOURCES, lambda r: r.source_of_risk),
        ("location", ADULT_LOCATIONS, lambda r: r.location_of_risk),
    ):
        c = Counter(of(r) if of(r) in values else "not_recorded" for r in adults)
        for v in values:
            counts[("sac", kind, v)] = c[v]
        sums += grid(values, ["n"], lambda v, _, kind=kind: ("sac", kind, v), column_total=lambda _: ("sac", "n"))

    # Enquiries started: the outcomes the contacts by outcome table shows too (only adults have them, unless a
    # manager's override gave one to a child's contact).
    for o in ENQUIRIES:
        counts[("sac", "outcome", o)] = sum(1 for r in adults if r.outcome == o)
        counts[("sac~", "outcome", o)] = sum(1 for r in rest if r.outcome == o)
        sums.append(Sum(("outcome", o), (("sac", "outcome", o), ("sac~", "outcome", o))))
    counts[("sac", "enquiries")] = sum(counts[("sac", "outcome", o)] for o in ENQUIRIES)
    sums.append(Sum(("sac", "enquiries"), tuple(("sac", "outcome", o) for o in ENQUIRIES)))

    # By route: every adult's contact in one row (the undecided in their own, as the contacts tables show them), so
    # the few still undecided at the period's end are not left to be worked out from the decided.
    concerns = Counter(_route(r) for r in adults)
    enquiries = Counter(_route(r) for r in adults if r.outcome in ENQUIRIES)
    for route in ADULT_ROUTES:
        counts[("sac", "route", route, "n")], counts[("sac", "route", route, "enq")] = concerns[route], enquiries[route]
    sums += grid(
        ADULT_ROUTES,
        ["n", "enq"],
        lambda r, k: ("sac", "route", r, k),
        column_total=lambda k: ("sac", "n") if k == "n" else ("sac", "enquiries"),
    )
    counts[("sac~", "undecided")] = sum(1 for r in rest if r.outcome is None)
    sums.append(Sum(("undecided", "*", "*"), (("sac", "route", "undecided", "n"), ("sac~", "undecided"))))


def _adults_unpublished(counts: dict) -> set:
    """The rest of the contacts: they relate the adults' counts to the contacts tables', never shown. A zero among
    them is taken as known: a reader knows no child's contact ends in a section 42 enquiry, and when every contact
    from one source is an adult's, the two tables must show or hide that count together."""
    return {k for k, v in counts.items() if v and k[0] == "sac~"}


def _words(code: str) -> str:
    return code.replace("_", " ")


def _adult_tables(counts, p) -> list[Table]:
    if not counts[("sac", "n")]:
        return []
    referrers = [s for s in SOURCES if counts[("sac", "referrer", s)]]
    routes = [r for r in ADULT_ROUTES if r != "not_recorded" or counts[("sac", "route", r, "n")]]
    measures = {
        "safeguarding concerns raised": ("sac", "n"),
        "section 42 enquiries started": ("sac", "outcome", Outcome.S42_ENQUIRY.value),
        "other safeguarding enquiries started": ("sac", "outcome", Outcome.OTHER_SAFEGUARDING_ENQUIRY.value),
        "enquiries started, both kinds": ("sac", "enquiries"),
    }
    by_route = _grid_table(
        "adults_by_route",
        "Adults at risk: who took the concern forward, and the enquiries started",
        "route",
        routes,
        ["n", "enq"],
        lambda r, k: p(("sac", "route", r, k)),
        column_total=lambda k: p(("sac", "n")) if k == "n" else p(("sac", "enquiries")),
        row_labels=[ROUTE_LABELS[r] for r in routes],
        column_labels=["concerns", "enquiries started"],
        unit="adults' contacts",
        rate_of=lambda cells, _t: rate(cells[1], cells[0]),
        rate_label="% of concerns that started an enquiry",
        note="By the concern's newest decision. The route is not recorded for a decision made before decisions "
        "named one; a concern not yet decided has started no enquiry yet.",
    )
    assert by_route.rates is not None and by_route.column_totals is not None
    by_route.rates[routes.index("undecided")] = None  # nothing decided, nothing to rate
    decided_n = _sub(by_route.column_totals[0], by_route.cells[routes.index("undecided")][0])
    by_route.total_rate = rate(by_route.column_totals[1], decided_n)
    return [
        _grid_table(
            "adults_concerns_and_enquiries",
            "Adults at risk: safeguarding concerns, and the enquiries they started",
            "measure",
            list(measures),
            ["count"],
            lambda m, _: p(measures[m]),
            unit="adults' contacts",
            note="A concern is a contact about an adult at risk with no child (a mixed household's adults' referral is "
            "one). An enquiry is started when the concern's newest decision is a section 42 enquiry or another "
            "safeguarding enquiry; concerns not yet decided have started none.",
        ),
        _grid_table(
            "adults_by_source_of_referral",
            "Adults at risk: concerns by source of the referral",
            "source",
            referrers,
            ["concerns"],
            lambda s, _: p(("sac", "referrer", s)),
            column_total=lambda _: p(("sac", "n")),
            row_labels=[SOURCES[s] for s in referrers],
            unit="adults' contacts",
        ),
        _grid_table(
            "adults_by_type_of_risk",
            "Adults at risk: concerns by type of risk (Care Act categories)",
            "type of risk",
            list(CARE_ACT_CATEGORIES),
            ["concerns"],
            lambda n, _: p(("sac", "type", n)),
            unit="adults' contacts",
            note="A concern can name several types of risk, so this table has no total. Self-neglect is a category of "
            "its own, as in the statutory guidance.",
        ),
        _grid_table(
            "adults_by_source_of_risk",
            "Adults at risk: concerns by source of risk",
            "source of risk",
            ADULT_SOURCES,
            ["concerns"],
            lambda v, _: p(("sac", "source", v)),
            column_total=lambda _: p(("sac", "n")),
            row_labels=[
                "service provider",
                "other, known to the individual",
                "other, unknown to the individual",
                "self (self-neglect)",
                "not recorded",
            ],
            unit="adults' contacts",
            note="As the referrer gave it.",
        ),
        _grid_table(
            "adults_by_location_of_risk",
            "Adults at risk: concerns by location of risk",
            "location of risk",
            ADULT_LOCATIONS,
            ["concerns"],
            lambda v, _: p(("sac", "location", v)),
            column_total=lambda _: p(("sac", "n")),
            row_labels=[_words(v) for v in ADULT_LOCATIONS],
            unit="adults' contacts",
            note="As the referrer gave it.",
        ),
        by_route,
    ]


# -- tables from the published counts --------------------------------------------------------------------------------


def _grid_table(
    name,
    title,
    row_label,
    rows,
    columns,
    cell,
    row_total=None,
    column_total=None,
    total=None,
    *,
    row_labels=None,
    column_labels=None,
    unit="contacts",
    note="",
    rate_of=None,
    rate_label=None,
) -> Table:
    t = Table(
        name,
        title,
        row_label,
        list(row_labels or rows),
        list(column_labels or columns),
        [[cell(r, c) for c in columns] for r in rows],
        [row_total(r) for r in rows] if row_total else None,
        [column_total(c) for c in columns] if column_total else None,
        total,
        unit=unit,
        note=note,
    )
    if rate_of:
        t.rate_label = rate_label
        row_totals: Sequence[Published | None] = t.row_totals or [None] * len(rows)
        t.rates = [rate_of(cells, rt) for cells, rt in zip(t.cells, row_totals)]
        t.total_rate = rate_of(t.column_totals, total)
    return t


def _category_table(ms, counts, p) -> Table:
    cats = [k.value for k in ConcernCategory if counts[("cat", k.value, "*")]]
    return _grid_table(
        "contacts_by_concern_category",
        "Concerns named, by category and month",
        "concern category",
        cats,
        ms,
        lambda cat, m: p(("cat", cat, m)),
        lambda cat: p(("cat", cat, "*")),
        row_labels=[c.replace("_", " ") for c in cats],
        note="A contact can name several concerns, so the months have no total here.",
    )


def _level_table(counts, p) -> Table:
    rows: list[int | str] = [1, 2, 3, 4, "undecided"]
    key = {lv: ("level", lv) for lv in (1, 2, 3, 4)} | {"undecided": ("undecided", "*", "*")}
    return _grid_table(
        "contacts_by_level",
        "Contacts by the level of need decided",
        "level",
        rows,
        ["contacts"],
        lambda r, _: p(key[r]),
        column_total=lambda _: p(("n", "*", "*")),
        total=None,
        row_labels=[LEVEL_LABELS.get(r, UNDECIDED) for r in rows],
    )


def _outcome_table(counts, p) -> Table:
    rows = [o.value for o in Outcome if counts[("outcome", o.value)]] + ["undecided"]
    key = {o: ("outcome", o) for o in rows} | {"undecided": ("undecided", "*", "*")}
    return _grid_table(
        "contacts_by_outcome",
        "Contacts by outcome",
        "outcome",
        rows,
        ["contacts"],
        lambda r, _: p(key[r]),
        column_total=lambda _: p(("n", "*", "*")),
        row_labels=[UNDECIDED if r == "undecided" else r.replace("_", " ") for r in rows],
    )


def _conversion_table(codes, p) -> Table:
    groups = ["referral", "not"]

    def cell(c, g):
        return p(("conv", c, g))

    def conv(cells, total):
        # over all contacts from the source: the few still undecided at the period's end are too small to show by
        # source, and hiding them must not cost the rate
        return rate(cells[0], total)

    return _grid_table(
        "contacts_that_became_referrals",
        "Contacts that became referrals to children's social care, by source",
        "contact source",
        codes,
        groups,
        cell,
        lambda c: p(("ssd", "*", c, "*")),
        lambda g: p(("conv", "*", g)),
        p(("n", "*", "*")),
        row_labels=[CODE_LABELS[c] for c in codes],
        column_labels=["became a referral", "another outcome, or not yet decided"],
        rate_of=conv,
        rate_label="% of contacts that became referrals",
    )


def _timeliness_table(ms, p) -> Table:
    cols = ["within", "late", "undecided"]

    def cell(m, t):
        return p(("undecided", m, "*")) if t == "undecided" else p(("timing", m, t))

    return _grid_table(
        "decisions_within_one_working_day",
        "Decisions within one working day, by month received",
        "month",
        ms,
        cols,
        cell,
        lambda m: p(("n", m, "*")),
        lambda t: p(("undecided", "*", "*")) if t == "undecided" else p(("timing", "*", t)),
        p(("n", "*", "*")),
        column_labels=["within one working day", "after the deadline", UNDECIDED],
        rate_of=lambda cells, _t: rate(cells[0], _add(cells[0], cells[1])),
        rate_label="% of decisions within one working day",
    )


def _returns_table(counts, p) -> Table:
    lines = [(a, rag) for a in DESKS for rag in RAGS if counts[("ret", a, rag, "*")]]
    return _grid_table(
        "desk_returns_within_rag_deadline",
        "Desks' returns within their RAG deadline, by desk and RAG rating",
        "desk and RAG",
        lines,
        ["within", "late"],
        lambda ar, t: p(("ret", *ar, t)),
        lambda ar: p(("ret", *ar, "*")),
        lambda t: p(("ret", "*", "*", t)),
        p(("ret", "*", "*", "*")),
        row_labels=[f"{a.replace('_', ' ')}, {rag}" for a, rag in lines],
        column_labels=["within the deadline", "after the deadline"],
        unit="returns",
        rate_of=lambda cells, tot: rate(cells[0], tot),
        rate_label="% of returns within the deadline",
    )


def _re_referral_table(ms, p) -> Table:
    return _grid_table(
        "re_referrals_within_12_months",
        "Re-referrals within 12 months, by month (per child)",
        "month",
        ms,
        ["re", "first"],
        lambda m, k: p(("rr", m, k)),
        lambda m: p(("rr", m, "*")),
        lambda k: p(("rr", "*", k)),
        p(("rr", "*", "*")),
        column_labels=["re-referral", "no referral in the previous 12 months"],
        unit="referrals of children",
        rate_of=lambda cells, tot: rate(cells[0], tot),
        rate_label="re-referral rate %",
    )


def _findings_table(ms, counts, p) -> Table:
    kinds = sorted({k[1] for k in counts if k[0] == "find" and k[1] != "*"})
    return _grid_table(
        "repeat_concern_findings",
        "Repeat-concern findings raised by the hub's research, by kind and month",
        "finding",
        kinds,
        ms,
        lambda f, m: p(("find", f, m)),
        lambda f: p(("find", f, "*")),
        lambda m: p(("find", "*", m)),
        p(("find", "*", "*")) if kinds else 0,
        row_labels=[k.replace("_", " ") for k in kinds],
        unit="findings",
        note="" if kinds else "No repeat-concern findings were raised in the period.",
    )


def _ssd_table(ms, codes, counts, p) -> Table:
    lines = [(m, c) for m in ms for c in codes]

    def cell(mc, f):
        return p(("undecided", *mc)) if f == "NO_OUTCOME_YET" else p(("ssd", *mc, f))

    t = _grid_table(
        "ssd_contacts",
        "Contacts in the shape of the SSD contacts table (cont_contact_source_code x outcome flags)",
        "month, cont_contact_source_code",
        lines,
        FLAGS,
        cell,
        lambda mc: p(("ssd", *mc, "*")),
        lambda f: p(("undecided", "*", "*")) if f == "NO_OUTCOME_YET" else p(("ssd", "*", "*", f)),
        p(("n", "*", "*")),
        row_labels=[f"{m} {c}" for m, c in lines],
        note="One outcome flag per contact (a strategy discussion sets CP_ENQUIRY_FLAG; early help, police "
        "action, domestic abuse services and adult safeguarding set OTHER_OUTCOMES_EXIST_FLAG).",
    )
    return t


def _add(a: Published, b: Published) -> Published:
    # SUPPRESSED is the only text a published count holds
    return SUPPRESSED if isinstance(a, str) or isinstance(b, str) else a + b


def _sub(a: Published, b: Published) -> Published:
    return SUPPRESSED if isinstance(a, str) or isinstance(b, str) else a - b


def _n(value) -> str:
    """A published count with thousands separated; a suppressed one as published ("c")."""
    return f"{value:,}" if isinstance(value, int) else str(value)


def _headline(tables: list[Table], p, counts) -> list[Headline]:
    by = {t.name: t for t in tables}
    conv, timely, ret, rr = (
        by["contacts_that_became_referrals"],
        by["decisions_within_one_working_day"],
        by["desk_returns_within_rag_deadline"],
        by["re_referrals_within_12_months"],
    )
    converted, timed = conv.column_totals, timely.column_totals
    assert converted is not None and timed is not None  # _conversion_table and _timeliness_table give column totals
    return [
        Headline("Contacts received", p(("n", "*", "*")), "count", "notifications received at the front door in the period"),
        Headline(
            "Became referrals", conv.total_rate, "%", f"{_n(converted[0])} contacts became referrals to children's social care"
        ),
        Headline("Decided within one working day", timely.total_rate, "%", f"{_n(timed[1])} decisions were late"),
        Headline("Desk returns on time", ret.total_rate, "%", f"of {_n(ret.total)} returns, within their RAG deadline"),
        Headline("Re-referral rate", rr.total_rate, "%", f"of {_n(rr.total)} referrals of children, within 12 months of another"),
        Headline(
            "Repeat-concern findings",
            p(("find", "*", "*")),
            "count",
            f"raised by the hub's research on {_n(p(('flagged',)))} contacts",
        ),
    ] + (
        [
            Headline("Adult safeguarding concerns", p(("sac", "n")), "count", "contacts about an adult at risk with no child"),
            Headline(
                "Adult enquiries started",
                p(("sac", "enquiries")),
                "count",
                f"{_n(p(('sac', 'outcome', Outcome.S42_ENQUIRY.value)))} under section 42, "
                f"{_n(p(('sac', 'outcome', Outcome.OTHER_SAFEGUARDING_ENQUIRY.value)))} other safeguarding enquiries",
            ),
        ]
        if counts[("sac", "n")]
        else []
    )
