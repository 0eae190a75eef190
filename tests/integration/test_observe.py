"""Operations you can look at (`mash up --observe`): a real Prometheus scraping the mesh with the hub's alert rules,
and a real Zipkin showing a referral's trace across services.

Intake and decision are restarted with the Zipkin setting (a service reads it once, at start) and restarted without it
afterwards. Prometheus evaluates the rules every second here (the rules are the real file, unchanged: the
dead-letter rule has no `for:`)."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from mash_cli.mesh import Mesh
from mash_cli.observe import RULES, Observability, prometheus_binary
from mash_tools.synthetic import Generator

from .test_mesh import FLOW, referral_ids, routed
from .watch import run

pytestmark = pytest.mark.integration

TRACED = ("intake", "decision")  # a referral's first and last hops
KEY = "messaging.kafka.message.key"


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our own loopback servers
        return json.loads(answer.read())


def poll(what: str, probe: Callable[[], Any], timeout: float = 90.0) -> Any:
    """probe() until it returns something truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = probe()
        except OSError:  # the server is between answers (a reload): ask again
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.5)


def rule_names() -> set[str]:
    return {rule["alert"] for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]}


@pytest.fixture(scope="module")
def observed(mesh: Mesh, tmp_path_factory) -> Iterator[Observability]:
    obs = Observability(tmp_path_factory.mktemp("observe"), evaluation_seconds=1)
    before = dict(mesh.extra_env)
    try:
        # As `mash up --observe` does it: Zipkin first, the services started with its address, then Prometheus.
        env = obs.start_traces()
        mesh.stop(*TRACED)
        mesh.extra_env.update(env)
        mesh.start(*TRACED)
        mesh.wait_ready(*TRACED)
        obs.start_metrics(mesh)
        yield obs
    finally:
        obs.prometheus.stop()
        mesh.stop(*TRACED)
        mesh.extra_env.clear()
        mesh.extra_env.update(before)
        mesh.start(*TRACED)
        mesh.wait_ready(*TRACED)
        obs.stop()


def test_the_alert_rules_pass_promtool():
    checked = subprocess.run([prometheus_binary("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_names())} rules found" in checked.stdout


def test_the_generated_prometheus_configuration_passes_promtool(tmp_path):
    config = Observability(tmp_path).write_config()
    checked = subprocess.run([prometheus_binary("promtool"), "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_names())} rules found" in checked.stdout, "the configuration loads the hub's rules"


def test_prometheus_loads_every_rule_and_a_dead_letter_fires_its_alert(observed, mesh, watcher):
    prometheus = observed.prometheus_url()

    def rules_evaluated() -> dict | None:
        groups = get_json(f"{prometheus}/api/v1/rules")["data"]["groups"]
        rules = {r["name"]: r for g in groups for r in g["rules"]}
        evaluated = set(rules) == rule_names() and all(r["health"] == "ok" and r.get("evaluationTime") for r in rules.values())
        return rules if evaluated else None

    rules = poll("every rule loaded and evaluated without error", rules_evaluated)
    assert set(rules) == rule_names()

    def scraped(job: str) -> bool:
        query = urllib.parse.quote(f'up{{job="{job}"}} == 1')
        return bool(get_json(f"{prometheus}/api/v1/query?query={query}")["data"]["result"])

    def targets() -> str:
        active = get_json(f"{prometheus}/api/v1/targets")["data"]["activeTargets"]
        return "; ".join(f"{t['labels'].get('job')}: {t['health']} {t['lastError']}" for t in active)

    try:
        poll("intake scraped under its own job", lambda: scraped("intake"))
    except TimeoutError as e:
        raise AssertionError(f"{e}; targets: {targets()}") from None

    def dead_letter_alerts() -> list[dict]:
        alerts = get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "MashDeadLetters" and a["labels"].get("job") == "intake"]

    # Intake was restarted for this module: it has set nothing aside yet, so nothing fires for it.
    assert dead_letter_alerts() == []

    run(watcher.submit(raw=[b"not an envelope"]))

    [firing] = poll(
        "MashDeadLetters firing for intake",
        lambda: [a for a in dead_letter_alerts() if a["state"] == "firing" and a["labels"]["error_type"] == "SealError"],
    )
    assert firing["labels"]["severity"] == "ticket"
    assert "intake set aside records of mash.notifications.submitted" in firing["annotations"]["summary"]

    # Every metric a rule names is one the services really export (Prometheus has stored it from a scrape).
    named = set(re.findall(r"\bmash_[a-z_]+\b", RULES.read_text())) - rule_names()
    known = set(get_json(f"{prometheus}/api/v1/label/__name__/values")["data"])
    assert named and named <= known, f"rules name metrics no service exports: {sorted(named - known)}"


def test_zipkin_shows_a_referral_across_services(observed, mesh, watcher):
    submission = Generator(seed=uuid.uuid4().int).notification()
    run(watcher.submit(submission))
    seen = run(
        watcher.read_until(
            FLOW,
            lambda s: (
                bool(referral_ids(s, {submission.submission_id})) and routed(s, referral_ids(s, {submission.submission_id}))
            ),
        )
    )
    [referral] = referral_ids(seen, {submission.submission_id})
    zipkin = observed.zipkin_url()
    query = urllib.parse.urlencode(
        {"serviceName": "decision", "annotationQuery": f"{KEY}={referral}", "lookback": 3_600_000, "limit": 10}
    )

    def traced() -> list[dict] | None:
        for spans in get_json(f"{zipkin}/api/v2/traces?{query}"):
            if {s["localEndpoint"]["serviceName"] for s in spans} >= set(TRACED):
                return spans
        return None

    spans = poll(f"{referral}'s trace in Zipkin with spans from {', '.join(TRACED)}", traced)
    assert len({s["traceId"] for s in spans}) == 1
    assert any(s["tags"].get(KEY) == referral for s in spans), "found by the referral id, as text"
    # Ids, topics and outcomes only: nothing of the people the referral is about.
    tags = json.dumps([s.get("tags", {}) for s in spans])
    for subject in submission.subjects:
        for personal in (subject.family_name, subject.given_name, subject.nhs_number):
            assert not personal or personal not in tags, "a subject's details in a span"
