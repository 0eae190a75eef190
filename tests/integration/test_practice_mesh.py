"""The practice table through the real mesh: rows of tests/unit/test_practice_table.py referred about seeded
households (population.PRACTICE_CASES), researched by the four desks from their own records and decided by the
decision service, including consent refused, consent not sought, and a MASH manager recording s47 grounds (over
HTTP, and once through `mash decision grounds`) after which the declined desks research again.

Sources are those of the practice table (WT23, NORFOLK, SURREY, LONDON, HANTS, HARROW, CARE: see its docstring).
Print the table (case, source, expected, got) with `-s`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select
from tests.unit.test_practice_table import (  # the table's vocabulary and its reading of a result
    AMBER,
    ASC,
    ASSESSMENT,
    CSC,
    DA_OR_ASSESSMENT,
    DA_SERVICE,
    EARLY,
    EDU,
    GREEN,
    HEALTH,
    MISSING,
    POLICE,
    PRE_BIRTH,
    RED,
    STRATEGY,
    UNIVERSAL,
    misses,
)

from mash_contracts import Agency, RagRating
from mash_contracts import ContributionStatus as S
from mash_contracts import Outcome as O
from mash_contracts.topics import ACKNOWLEDGEMENTS, CONTRIBUTIONS, DECISIONS, NOTIFICATIONS, lanes
from mash_runtime.audit import audit_log
from mash_runtime.store import make_engine
from mash_tools.synthetic import Generator, scripted_notification

from .test_decision_service import _http
from .test_desks import disclosures
from .watch import Seen, Watcher, run

pytestmark = pytest.mark.integration
CONSENT_LED = (HEALTH, CSC, EDU)  # the desks whose footing without consent is significant harm
WATCHED = [ACKNOWLEDGEMENTS.name, *lanes(NOTIFICATIONS.name), *(n for t in CONTRIBUTIONS for n in lanes(t.name)), DECISIONS.name]
RATIONALE = (
    "Reasonable cause to suspect significant harm: the history held by the agencies must be checked (strategy meeting today)."
)


@dataclass(frozen=True)
class Expected:
    levels: tuple[int, int]
    outcomes: frozenset[O]
    source: str


@dataclass(frozen=True)
class MeshCase:
    name: str  # the household in population.py and its referral in synthetic.SCRIPTED_REFERRALS
    row: str  # the practice table's row
    expected: Expected
    rag: RagRating  # at screening
    routes: frozenset[Agency] = frozenset()
    not_routes: frozenset[Agency] = frozenset()
    answers: dict[Agency, S] = field(default_factory=dict)  # desks' answers before any grounds
    grounds: str | None = None  # "http" or "cli": a manager records s47 grounds after the first decision
    after: Expected | None = None  # once the desks researched on the grounds and a manager confirmed


CASES = [
    # Consent refused on an s17 footing: the police research on DPA 2018 Part 3 and share the incident; the
    # consent-led desks decline. One incident is no repeat: DA service at level 2.
    MeshCase(
        "practice_first_da_refused",
        "domestic abuse, first incident, consent refused",
        Expected(
            (2, 2),
            DA_SERVICE,
            "SURREY s.7 targeted: first DA incident; LONDON threshold L2; WT23 ch. 2: refusal neither raises nor lowers",
        ),
        AMBER,
        answers={POLICE: S.SHARED, HEALTH: S.DECLINED, CSC: S.DECLINED, EDU: S.DECLINED},
    ),
    # Consent refused; the previous CP plan is found only once a manager records s47 grounds (here through the CLI).
    MeshCase(
        "practice_neglect_refused_history",
        "neglect, consent refused",
        Expected((2, 2), EARLY, "WT23 ch. 2: refusal does not raise or lower the level; SURREY s.13 emerging neglect"),
        GREEN,
        answers={POLICE: S.NO_RECORDS_FOUND, HEALTH: S.DECLINED, CSC: S.DECLINED, EDU: S.DECLINED},
        grounds="cli",
        after=Expected((3, 4), ASSESSMENT | STRATEGY, "NORFOLK descriptors L3: previous child protection concerns"),
    ),
    # Consent not sought on an s17 footing: the police research (nothing held); the others decline until a manager
    # records s47 grounds over HTTP, when health finds the mother's perinatal mental health contact.
    MeshCase(
        "practice_pmh_baby_not_sought",
        "parental mental health, baby, consent not sought",
        Expected((2, 3), EARLY | ASSESSMENT, "NORFOLK descriptors L3: parental MH affecting care of a baby; SURREY s.6-7"),
        GREEN,
        answers={POLICE: S.NO_RECORDS_FOUND, HEALTH: S.DECLINED, CSC: S.DECLINED, EDU: S.DECLINED},
        grounds="http",
        after=Expected((2, 3), EARLY | ASSESSMENT, "NORFOLK descriptors L3: parental MH affecting care of a baby"),
    ),
    # Consent not sought, but screening sets s47: every desk researches without consent.
    MeshCase(
        "practice_cce_not_sought",
        "county lines criminal exploitation, 15, consent not sought",
        Expected((4, 4), STRATEGY, "SURREY s.9 statutory: CCE; WT23 ch. 2 extra-familial harm"),
        RED,
        routes=frozenset({CSC, POLICE}),
        not_routes=frozenset({ASC}),
        answers={POLICE: S.SHARED, HEALTH: S.SHARED, EDU: S.SHARED},
    ),
    MeshCase(
        "practice_cse_17",
        "sexual exploitation of a 17-year-old",
        Expected((4, 4), STRATEGY, "CARE transitional safeguarding (16-25); HARROW L4"),
        RED,
        routes=frozenset({CSC, ASC}),
    ),
    MeshCase(
        "practice_repeat_da",
        "domestic abuse, repeat incidents",
        Expected((3, 3), DA_OR_ASSESSMENT, "LONDON threshold L3: repeat DA incidents with children in the home"),
        AMBER,
        routes=frozenset({CSC, POLICE}),
    ),
    MeshCase(
        "practice_neglect_absence_dna",
        "neglect with absence and missed appointments",
        Expected((3, 3), ASSESSMENT, "SURREY s.13 neglect with impact on health and education: L3"),
        GREEN,
    ),
    MeshCase(
        "practice_neglect_open_cp",
        "neglect while on a CP plan",
        Expected((4, 4), STRATEGY, "WT23 ch. 2: a new concern about a child on a plan"),
        GREEN,
    ),
    MeshCase(
        "practice_repeat_missing",
        "repeat missing, 14",
        Expected((3, 3), MISSING | ASSESSMENT, "NORFOLK descriptors L3: repeated missing episodes"),
        AMBER,
        routes=frozenset({POLICE}),
    ),
    MeshCase(
        "practice_unborn_sibling_cp",
        "unborn, a sibling was on a CP plan",
        Expected((3, 3), PRE_BIRTH, "LONDON pre-birth chapter: previous child subject to a CP plan"),
        GREEN,
    ),
    MeshCase(
        "practice_young_carer_unknown",
        "young carer, nothing known",
        Expected((2, 2), EARLY, "HANTS L2 family and environment: young carers"),
        GREEN,
    ),
    # Low-level factors only (an age band, an old referral, an exclusion, a pregnancy): capped below Level 3.
    MeshCase(
        "practice_baby_low_level",
        "baby, known to services, nothing of concern",
        Expected((1, 2), UNIVERSAL, "SURREY s.6-7; HANTS L2: age and service contact are not harm"),
        GREEN,
    ),
]
BY_NAME = {c.name: c for c in CASES}


@dataclass
class Result:
    referral_id: str
    rag: RagRating  # at screening
    decision: object
    contributions: dict[Agency, object]
    grounds_id: str | None = None
    after: object | None = None  # the decision on the grounds
    after_contributions: dict[Agency, object] = field(default_factory=dict)


def problems(decision, rag: RagRating | None, expected: Expected, case: MeshCase) -> list[str]:
    return misses(decision, expected.levels, expected.outcomes, case.routes, case.not_routes, rag, case.rag)


def _wait(watcher: Watcher, done, timeout: float) -> Seen:
    return run(watcher.read_until(WATCHED, done, timeout=timeout))


def _answers(seen: Seen, ref: str) -> dict[Agency, list]:
    """Each desk's answers for the referral, in arrival order (the first before any grounds)."""
    answers: dict[Agency, list] = {}
    for t in CONTRIBUTIONS:
        for c in seen.lanes(t.name):
            if c.referral_id == ref:
                answers.setdefault(c.agency, []).append(c)
    return answers


@pytest.fixture(scope="module")
def practice(mesh, topics, scripted, mash) -> dict[str, Result]:
    """Submit every case at once and wait once; then record grounds (HTTP and CLI), confirm the re-assessments and
    wait once more."""
    from mash_runtime.http import manager_token

    watcher = Watcher(mesh.access, mesh.keys_dir)
    generator = Generator(seed=uuid.uuid4().int)
    submissions = {c.name: scripted_notification(generator, c.name, scripted[c.name].subjects) for c in CASES}
    run(watcher.submit(*submissions.values()))
    wanted = {s.submission_id: name for name, s in submissions.items()}

    def refs(seen: Seen) -> dict[str, str]:
        return {wanted[a.submission_id]: a.referral_id for a in seen.decoded(ACKNOWLEDGEMENTS.name) if a.submission_id in wanted}

    def decided(seen: Seen) -> bool:
        r = refs(seen)
        return len(r) == len(CASES) and set(r.values()) <= {d.referral_id for d in seen.decoded(DECISIONS.name)}

    # Twelve referrals, four desks each, on two shared cores: generous, and it returns as soon as all are decided.
    seen = _wait(watcher, decided, timeout=240)
    results: dict[str, Result] = {}
    for name, ref in refs(seen).items():
        notification = next(n for n in seen.lanes(NOTIFICATIONS.name) if n.referral_id == ref)
        decision = next(d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref)
        results[name] = Result(ref, notification.rag, decision, {a: cs[0] for a, cs in _answers(seen, ref).items()})

    token = manager_token(mesh.keys_dir)
    for case in (c for c in CASES if c.grounds):
        r = results[case.name]
        if case.grounds == "http":
            status, body = _http(
                mesh,
                "POST",
                "/grounds",
                {"referral_id": r.referral_id, "manager": "p.manager", "kind": "s47", "rationale": RATIONALE},
                token,
            )
            assert status == 200, body
        else:
            done = mash(
                "decision",
                "grounds",
                r.referral_id,
                "--manager",
                "p.manager",
                "--kind",
                "s47",
                "--rationale",
                RATIONALE,
                state=mesh.state_dir,
                timeout=120,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            body = json.loads(done.stdout.strip().splitlines()[-1])
        assert body["referral_id"] == r.referral_id and body["kind"] == "s47"
        r.grounds_id = body["grounds_id"]

    # The desks research again; the re-assessment of a routed referral waits for a manager.
    on_grounds = {r.referral_id: r for r in results.values() if r.grounds_id}
    deadline, waiting = time.monotonic() + 180, {}
    while set(waiting) != set(on_grounds):
        assert time.monotonic() < deadline, f"no re-assessment to confirm after {180}s: {sorted(set(on_grounds) - set(waiting))}"
        status, pending = _http(mesh, "GET", "/recommendations", token=token)
        assert status == 200, pending
        waiting = {p["referral_id"]: p for p in pending if p["referral_id"] in on_grounds}
        if set(waiting) != set(on_grounds):
            time.sleep(1)
    for ref, p in waiting.items():
        assert on_grounds[ref].grounds_id in {g["grounds_id"] for g in p.get("grounds", [])}, p
        status, body = _http(mesh, "POST", "/decisions", {"referral_id": ref, "manager": "p.manager", "action": "confirm"}, token)
        assert status == 200, body

    def redecided(seen: Seen) -> bool:
        return all(
            any(d.referral_id == ref and str(d.grounds_id) == r.grounds_id for d in seen.decoded(DECISIONS.name))
            for ref, r in on_grounds.items()
        )

    seen = _wait(watcher, redecided, timeout=120)
    for ref, r in on_grounds.items():
        r.after = next(d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref and str(d.grounds_id) == r.grounds_id)
        r.after_contributions = {
            a: next((c for c in cs if str(c.grounds_id) == r.grounds_id), None) for a, cs in _answers(seen, ref).items()
        }
    return results


def render(results: dict[str, Result]) -> str:
    """The table for the closing note: case, source, expected, got."""
    rows = [
        "| case | source | expected (level, outcome, RAG at screening) | got (level, outcome, RAG at screening -> now, score) | ok |",
        "|---|---|---|---|---|",
    ]

    def line(label: str, expected: Expected, case: MeshCase, decision, rag: RagRating | None) -> str:
        lo, hi = expected.levels
        want = f"L{lo}{'' if lo == hi else f'-{hi}'}, {'/'.join(sorted(o.value for o in expected.outcomes))}, {case.rag.value if rag else '-'}"
        got = (
            f"L{decision.level.value}, {decision.outcome.value}, {rag.value + ' -> ' if rag else ''}{decision.rag.value}, {decision.score}"
            f"{'; routed to ' + '+'.join(sorted(a.value for a in decision.recipients))}"
        )
        ok = "yes" if not problems(decision, rag, expected, case) else "NO"
        return f"| {label} | {expected.source} | {want} | {got} | {ok} |"

    for case in CASES:
        r = results[case.name]
        rows.append(line(f"{case.row} ({case.name})", case.expected, case, r.decision, r.rag))
        if case.after and r.after is not None:
            rows.append(
                line(f"  the same, after s47 grounds recorded ({case.grounds}) and confirmed", case.after, case, r.after, None)
            )
    return "\n".join(rows)


def test_every_practice_case_lands_in_its_range_through_the_mesh(practice):
    print("\n" + render(practice))
    failures = {}
    for case in CASES:
        r = practice[case.name]
        found = problems(r.decision, r.rag, case.expected, case)
        if case.after:
            found += [f"after grounds: {p}" for p in problems(r.after, None, case.after, case)]
        if found:
            failures[case.name] = found + ["; ".join(f"{f.name} [{f.source}, {f.weight}]" for f in r.decision.explanation)]
    assert failures == {}


def test_each_desk_answers_on_its_own_footing_when_consent_is_refused_or_not_sought(mesh, practice):
    for case in CASES:
        got = {a: c.status for a, c in practice[case.name].contributions.items()}
        assert {a: got.get(a) for a in case.answers} == case.answers, case.name
    # Police research on DPA 2018 Part 3 whatever the consent position and share the incident they hold.
    r = practice["practice_first_da_refused"]
    refused = r.contributions
    assert [i.record_ref for i in refused[POLICE].items] == ["INC-S101"]
    [police] = disclosures(mesh, POLICE, r.referral_id)
    assert police["consent_status"] == "refused" and "DPA 2018 Part 3" in police["legal_basis_cited"]
    for agency in CONSENT_LED:
        assert refused[agency].items == [] and "s47 grounds" in refused[agency].rationale, agency
    # Consent not sought but s47 at screening: nobody declines.
    assert S.DECLINED not in {c.status for c in practice["practice_cce_not_sought"].contributions.values()}


@pytest.mark.parametrize("name", [c.name for c in CASES if c.grounds])
def test_recorded_s47_grounds_reopen_research_cited_on_every_disclosure_and_on_the_audit_record(mesh, practice, mash, name):
    r = practice[name]
    assert r.after.decided_by == "manager p.manager" and str(r.after.grounds_id) == r.grounds_id
    for agency in (POLICE, *CONSENT_LED):
        answer = r.after_contributions.get(agency)
        assert answer is not None, f"{agency} did not research again on the grounds"
        assert answer.status is not S.DECLINED, f"{agency}: {answer.rationale}"
        [record] = [
            d for d in disclosures(mesh, agency, r.referral_id) if (d.get("grounds") or {}).get("grounds_id") == r.grounds_id
        ]
        assert record["disclosure_id"] == str(answer.disclosure_id) and record["grounds"]["kind"] == "s47"
    # What the grounds found moved the decision: the social care history, or the mother's mental health contact.
    finding = {
        "practice_neglect_refused_history": (CSC, "previous_cp_plan"),
        "practice_pmh_baby_not_sought": (HEALTH, "parental_mental_health_service"),
    }[name]
    assert finding[1] in r.after_contributions[finding[0]].findings
    assert any(f.source == finding[0].value for f in r.after.explanation)

    engine = make_engine(mesh.database_url("decision"))
    try:
        with engine.connect() as conn:
            entries = conn.execute(
                select(audit_log).where((audit_log.c.referral_id == r.referral_id) & (audit_log.c.action == "grounds_recorded"))
            ).all()
    finally:
        engine.dispose()
    assert [(e.actor, e.detail["grounds_id"], e.detail["kind"]) for e in entries] == [("manager p.manager", r.grounds_id, "s47")]
    assert RATIONALE not in json.dumps([dict(e._mapping) for e in entries], default=str), "the rationale stays in the store"
    seen = mash("audit", "seen", r.referral_id, state=mesh.state_dir)
    assert seen.returncode == 0 and "health_desk" in seen.stdout, seen.stdout + seen.stderr


def test_a_childs_chronology_lists_the_desks_items_the_grounds_and_both_decisions_in_date_order(mesh, practice, mash):
    """Issue 14 part 5: the chronology over the manager's HTTP API and `mash decision chronology`, for the referral
    re-decided on s47 grounds (its desks' items came on the grounds; it was decided twice)."""
    from mash_runtime.http import manager_token

    r, token = practice["practice_neglect_refused_history"], manager_token(mesh.keys_dir)
    status, found = _http(mesh, "GET", f"/referrals/{r.referral_id}/chronology", token=token)
    assert status == 200, found
    entries = found["entries"]
    dated = [(e["date"], e["time"] or "") for e in entries if not e["undated"]]
    assert dated == sorted(dated) and entries[: len(dated)] == [e for e in entries if not e["undated"]], (
        "date order, undated last"
    )
    listed = {(e["source"], e["detail"]) for e in entries}
    for agency, answer in r.after_contributions.items():  # every item each desk shared on the grounds, none dropped
        for item in answer.items if answer else []:
            assert (agency.value, item.summary) in listed, (agency, item.record_class)
    assert any(e["source"] == "childrens_social_care" and e["event"].startswith("Children's social care:") for e in entries)
    events = [e["event"] for e in entries]
    decisions = [i for i, e in enumerate(events) if e.startswith("Decision: Level")]
    [grounds] = [i for i, e in enumerate(events) if e == "s47 grounds recorded"]
    assert len(decisions) == 2 and decisions[0] < grounds < decisions[1], events
    assert entries[grounds]["reference"] == r.grounds_id
    assert entries[decisions[1]]["outcome"] and r.after.level_name in events[decisions[1]]

    child = next(s["subject_ref"] for s in found["subjects"] if s["role"] == "child")
    status, mine = _http(mesh, "GET", f"/referrals/{r.referral_id}/chronology?subject={child}", token=token)
    assert status == 200 and all(not e["subject_refs"] or child in e["subject_refs"] for e in mine["entries"])
    status, refused = _http(mesh, "GET", f"/referrals/{r.referral_id}/chronology?subject=nobody", token=token)
    assert status == 400 and child in refused["subjects"]
    assert _http(mesh, "GET", "/referrals/REF-000000000000/chronology", token=token)[0] == 404

    printed = mash("decision", "chronology", r.referral_id, "--subject", child, state=mesh.state_dir)
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert f"Chronology of {r.referral_id} for {child}" in printed.stdout and "s47 grounds recorded" in printed.stdout
    assert any(line.split("|")[0].strip() == "date" for line in printed.stdout.splitlines())
    assert printed.stdout.count("Decision: Level") == 2
