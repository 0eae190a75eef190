"""The decision service on the running mesh: a desk that never answers, the manager in charge, two instances."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from contextlib import contextmanager

import pytest

from mash_cli import processes
from mash_contracts import Agency, AlertKind, ConcernCategory, ContributionStatus, Outcome
from mash_contracts.topics import ACKNOWLEDGEMENTS, ALERTS, DECISIONS, OUTCOMES, PRODUCTS
from mash_tools.synthetic import Generator, Scenario

from .test_mesh import FLOW, referral_ids, routed
from .watch import Seen, run

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh() -> Generator:
    return Generator(seed=uuid.uuid4().int)


@contextmanager
def decision_configured(mesh, **env: str):
    """Restart the decision service with extra settings; put it back as it was afterwards."""
    saved = dict(mesh.extra_env)
    mesh.stop("decision")
    mesh.extra_env.update(env)
    mesh.start("decision")
    mesh.wait_ready("decision")
    try:
        yield
    finally:
        mesh.stop("decision")
        mesh.extra_env.clear()
        mesh.extra_env.update(saved)
        mesh.start("decision")
        mesh.wait_ready("decision")


def referral_of(watcher, submission) -> str:
    seen = run(watcher.read_until([ACKNOWLEDGEMENTS.name], lambda s: referral_ids(s, {submission.submission_id})))
    [ref] = referral_ids(seen, {submission.submission_id})
    return ref


def awaiting_a_manager(watcher, submission) -> str:
    """Submit, and wait until the decision service asks a manager to confirm: the referral id."""
    run(watcher.submit(submission))
    ref = referral_of(watcher, submission)
    asked = lambda s: any(a.referral_id == ref and a.kind is AlertKind.CONFIRMATION_NEEDED for a in s.decoded(ALERTS.name))
    run(watcher.read_until([ALERTS.name], asked))
    return ref


def test_a_desk_that_never_answers_leads_to_a_due_decision_the_gap_recorded_and_an_alert(mesh, watcher, fresh):
    fast = {
        "MASH_TIMESCALES": json.dumps(
            {f"{r}_return_hours": 0.003 for r in ("red", "amber", "green", "blue")}
            | {"around_the_clock": ["red", "amber", "green", "blue"], "alert_before_minutes": 0}
        )
    }
    mesh.stop("police_desk")
    try:
        with decision_configured(mesh, **fast):
            submission = fresh.notification(Scenario((ConcernCategory.NEGLECT,), "Child often left alone in the evenings."))
            run(watcher.submit(submission))
            ref = referral_of(watcher, submission)

            def due(s: Seen) -> bool:
                return any(d.referral_id == ref for d in s.decoded(DECISIONS.name))

            seen = run(watcher.read_until([DECISIONS.name, ALERTS.name], due, timeout=90, settle=1))
    finally:
        mesh.start("police_desk")
        mesh.wait_ready("police_desk")
    [decision] = [d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref]
    assert decision.no_answer == [Agency.POLICE] and decision.contributions[Agency.POLICE] is ContributionStatus.NO_ANSWER
    assert all(decision.contributions[a] is not ContributionStatus.NO_ANSWER for a in (Agency.HEALTH, Agency.EDUCATION))
    assert any(f.source == "police" and "did not answer" in f.name for f in decision.explanation)
    overdue = [a for a in seen.decoded(ALERTS.name) if a.referral_id == ref and a.kind is AlertKind.RETURNS_OVERDUE]
    assert len(overdue) == 1 and "police" in overdue[0].detail


def test_a_manager_overrides_the_model_and_the_rationale_is_on_the_record(mesh, watcher, fresh, mash):
    with decision_configured(mesh, MASH_AUTO_CONFIRM_LEVELS="[1, 2, 3]"):
        submission = fresh.notification(Scenario((ConcernCategory.PHYSICAL_ABUSE,), "Bruise on the child's arm seen at nursery."))
        ref = awaiting_a_manager(watcher, submission)
        assert not any(
            d.referral_id == ref
            for d in run(watcher.read_until([DECISIONS.name], lambda s: True, settle=1)).decoded(DECISIONS.name)
        ), "nothing routed at level 4 before a manager decides"

        listed = mash("decision", "pending", state=mesh.state_dir)
        assert ref in listed.stdout and "level 4" in listed.stdout, listed.stdout + listed.stderr
        override = ("decision", "override", ref, "--manager", "t.manager", "--level", "3", "--outcome", "cin_assessment")
        refused = mash(*override, "--rationale", "no", state=mesh.state_dir)
        assert refused.returncode == 1 and "rationale" in refused.stderr
        rationale = "Bruising explained by a recorded medical condition; single assessment instead of s47."
        done = mash(*override, "--recipient", "childrens_social_care", "--rationale", rationale, state=mesh.state_dir)
        assert done.returncode == 0, done.stdout + done.stderr

        def decided(s: Seen) -> bool:
            return any(d.referral_id == ref for d in s.decoded(DECISIONS.name)) and any(
                n.referral_id == ref for n in s.decoded(OUTCOMES.name)
            )

        seen = run(watcher.read_until([DECISIONS.name, OUTCOMES.name, *(t.name for t in PRODUCTS)], decided, settle=2))
    [decision] = [d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref]
    assert (decision.level, decision.outcome, decision.recommended_level) == (3, Outcome.CIN_ASSESSMENT, 4)
    assert decision.override_rationale == rationale and decision.decided_by == "manager t.manager"
    products = [p for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id == ref]
    assert [p.recipient for p in products] == [Agency.CHILDRENS_SOCIAL_CARE]
    again = mash("decision", "confirm", ref, "--manager", "t.manager", state=mesh.state_dir)
    assert again.returncode == 1 and "not sent twice" in again.stderr
    seen_by = mash("audit", "seen", ref, state=mesh.state_dir)
    assert "decision" in seen_by.stdout
    notice = next(n for n in seen.decoded(OUTCOMES.name) if n.referral_id == ref)
    assert notice.submission_id == submission.submission_id and "bruis" not in notice.text.lower()


def test_two_decision_instances_share_the_load_with_one_product_per_referral(mesh, watcher, fresh):
    second = mesh.start_instance("decision", "2")
    log = mesh.state_dir / "logs" / "decision-2.log"
    seen, refs, rounds = None, set(), 0
    try:
        deadline = time.monotonic() + 60
        while "started successfully" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "the second instance did not start"
            time.sleep(0.5)
        # Joining the group takes a rebalance; keep the referrals coming until the newcomer has a share.
        while rounds < 4 and not re.findall(r'"message": "decided"', log.read_text()):
            rounds += 1
            submissions = [fresh.notification() for _ in range(24)]
            run(watcher.submit(*submissions))
            ours = {s.submission_id for s in submissions}

            def done(seen, ours=ours) -> bool:
                return len(referral_ids(seen, ours)) == 24 and routed(seen, referral_ids(seen, ours))

            seen = run(watcher.read_until(FLOW, done, timeout=120, settle=3))
            refs |= referral_ids(seen, ours)
    finally:
        processes.terminate(second, 30)
    shares = len(re.findall(r'"message": "decided"', log.read_text()))
    assert shares > 0, f"the second instance took no share in {rounds} rounds"
    decisions = Counter(d.referral_id for d in seen.decoded(DECISIONS.name) if d.referral_id in refs)
    assert set(decisions) == refs and set(decisions.values()) == {1}
    products = Counter((p.referral_id, p.recipient) for t in PRODUCTS for p in seen.decoded(t.name) if p.referral_id in refs)
    assert set(products.values()) == {1}, "each recipient exactly one product per referral"
    print(f"\n{len(refs)} referrals in {rounds} rounds; the second instance decided {shares}")


def _http(mesh, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, object]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{mesh.http_port('decision')}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_a_manager_confirms_through_the_http_interface(mesh, watcher, fresh):
    from mash_runtime.http import manager_token

    token = manager_token(mesh.keys_dir)
    with decision_configured(mesh, MASH_AUTO_CONFIRM_LEVELS="[1, 2, 3]"):
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _http(mesh, "GET", "/health/ready")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the decision service never became ready"
            time.sleep(0.5)
        submission = fresh.notification(Scenario((ConcernCategory.SEXUAL_ABUSE,), "Disclosure to a teacher this morning."))
        ref = awaiting_a_manager(watcher, submission)

        assert _http(mesh, "GET", "/recommendations")[0] == 401
        status, pending = _http(mesh, "GET", "/recommendations", token=token)
        assert status == 200 and any(p["referral_id"] == ref and p["level"] == 4 for p in pending)
        assert _http(mesh, "POST", "/decisions", {"referral_id": ref, "manager": "h.manager", "action": "confirm"})[0] == 401
        status, body = _http(mesh, "POST", "/decisions", {"referral_id": ref, "manager": "h.manager", "action": "approve"}, token)
        assert status == 400 and "confirm or override" in body["error"]
        status, body = _http(mesh, "POST", "/decisions", {"referral_id": ref, "manager": "h.manager", "action": "confirm"}, token)
        assert status == 200 and body["level"] == 4 and body["decided_by"] == "manager h.manager"
        status, body = _http(mesh, "POST", "/decisions", {"referral_id": ref, "manager": "h.manager", "action": "confirm"}, token)
        assert status == 409 and "not sent twice" in body["error"]
        seen = run(
            watcher.read_until(
                [DECISIONS.name, *(t.name for t in PRODUCTS)],
                lambda s: any(d.referral_id == ref for d in s.decoded(DECISIONS.name)),
                settle=2,
            )
        )
    [decision] = [d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref]
    assert decision.decided_by == "manager h.manager" and set(decision.recipients) == {
        Agency.CHILDRENS_SOCIAL_CARE,
        Agency.POLICE,
    }


def test_the_managers_cli_decides_with_the_model_the_service_runs_and_shows_full_explanations(mesh, watcher, fresh, mash):
    """`mash decision` run from a shell without MASH_MODEL, while the service runs a second model: the override
    carries that model's version and level names (before, the CLI loaded the default model and stamped its
    version on a northshire recommendation), and `pending` prints each factor's full explanation, not its short name."""
    assert "MASH_MODEL" not in __import__("os").environ
    with decision_configured(mesh, MASH_MODEL="northshire", MASH_AUTO_CONFIRM_LEVELS="[1, 2, 3]"):
        submission = fresh.notification(Scenario((ConcernCategory.SEXUAL_ABUSE,), "Disclosure to a teacher this morning."))
        ref = awaiting_a_manager(watcher, submission)
        listed = mash("decision", "pending", state=mesh.state_dir)
        mine = listed.stdout.split(ref, 1)[1].split("\nREF-", 1)[0]
        assert "sets at least Acute: significant harm. Bands:" in mine and "…" not in mine, listed.stdout + listed.stderr
        override = ("decision", "override", ref, "--manager", "n.manager", "--level", "3", "--outcome", "cin_assessment")
        retracted = "Disclosure retracted and explained; a single assessment instead."
        done = mash(*override, "--rationale", retracted, state=mesh.state_dir)
        assert done.returncode == 0, done.stdout + done.stderr
        seen = run(watcher.read_until([DECISIONS.name], lambda s: any(d.referral_id == ref for d in s.decoded(DECISIONS.name))))
    [decision] = [d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref]
    assert decision.model_version.startswith("northshire-"), decision.model_version
    assert decision.level_name == "Complex needs: statutory assessment" and decision.recommended_level == 4
