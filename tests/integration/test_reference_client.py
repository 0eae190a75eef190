"""The reference client in another language (clients/go), run the way an agency runs it: from a directory holding
only its own private keys, the client configuration the hub issued it and the public directory, against the live
mesh. Its build runs `go vet` and `go test`, which opens every published test vector."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from mash_cli import agencies
from mash_cli.paths import REPO
from mash_contracts.topics import DECISIONS
from mash_runtime.firewall.keys import DIRECTORY, write_secret
from mash_tools.synthetic import Generator

from .watch import run

pytestmark = pytest.mark.integration
NAME = "hillside_trust"


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("go-client")
    result = subprocess.run([str(REPO / "clients" / "go" / "build.sh"), str(out)], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ok" in result.stdout and "FAIL" not in result.stdout, "go test ran the vectors and passed"
    return out / "mash-agency"


def agency_shell(client: Path, home: Path, *args: str, timeout: float = 150) -> subprocess.CompletedProcess:
    """The agency's own shell: its directory, nothing of the hub's environment."""
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    return subprocess.run([str(client), *args], cwd=home, env=env, capture_output=True, text=True, timeout=timeout)


def agency_receive(client: Path, home: Path, agency: str, topic: str, key: str, wait: str, *more: str):
    """`mash-agency receive`, as the agency runs it: one record for it on a topic under a key, opened with its own keys."""
    return agency_shell(
        client,
        home,
        "receive",
        "--dir",
        ".",
        "--as",
        agency,
        "--config",
        "client.properties",
        "--topic",
        topic,
        "--key",
        key,
        "--timeout",
        wait,
        *more,
    )


def test_the_go_client_passes_the_published_test_vectors(client):
    result = subprocess.run(
        ["go", "test", "-count=1", "-run", "Vector", "-v", "./envelope"],
        cwd=REPO / "clients" / "go",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0 and "--- PASS" in result.stdout, result.stdout[-3000:]
    vectors = json.loads((REPO / "docs" / "test-vectors" / "envelope.json").read_text())["cases"]
    assert len(vectors) >= 3


def test_an_agency_with_only_its_own_keys_submits_reads_its_own_replies_and_its_recipient_opens_the_product(
    client, mesh, watcher, tmp_path
):
    home = tmp_path / NAME
    home.mkdir(mode=0o700)
    made = agency_shell(client, home, "keygen", "--dir", ".")
    assert made.returncode == 0, made.stderr
    # The hub enrols it from the public half, hands over its client configuration and the public directory.
    config = asyncio.run(agencies.add(mesh.access, mesh.keys_dir, NAME, (agencies.REFERRER,), (home / "public.pem").read_bytes()))
    try:
        write_secret(home / "client.properties", config)
        shutil.copyfile(mesh.keys_dir / DIRECTORY, home / DIRECTORY)
        assert sorted(p.name for p in home.iterdir()) == [
            "client.properties",
            DIRECTORY,
            "encryption.pem",
            "public.pem",
            "signing.pem",
        ]

        generator = Generator(seed=uuid.uuid4().int)
        submission = generator.notification()
        from mash_contracts import ConcernCategory, ConsentPosition, ConsentStatus

        submission = submission.model_copy(
            update={  # a neglect concern with consent: decided and routed, to early help
                "concern": submission.concern.model_copy(
                    update={"categories": [ConcernCategory.NEGLECT], "immediate_danger": False}
                ),
                "consent": ConsentPosition(status=ConsentStatus.GIVEN),
            }
        )
        (home / "submission.json").write_text(submission.model_dump_json())
        sent = agency_shell(
            client, home, "submit", "--dir", ".", "--as", NAME, "--config", "client.properties", "--file", "submission.json"
        )
        assert sent.returncode == 0 and f"submitted {submission.submission_id}" in sent.stdout, sent.stderr

        def receive(topic: str, key: str) -> dict:
            got = agency_receive(client, home, NAME, topic, key, "120s")
            assert got.returncode == 0, got.stderr
            return json.loads(got.stdout)

        ack = receive(f"mash.acknowledgements.{NAME}", submission.submission_id)
        assert ack["submission_id"] == submission.submission_id and ack["referral_id"].startswith("REF-")
        outcome = receive(f"mash.outcomes.{NAME}", submission.submission_id)
        assert outcome["referral_id"] == ack["referral_id"]

        refused = agency_receive(client, home, NAME, "mash.acknowledgements.northshire_schools", "anything", "20s")
        assert refused.returncode != 0 and "AUTHORIZATION" in refused.stderr.upper(), refused.stderr

        # The recipient, from a directory of its own: its keys (made by the simulated agency itself), its client
        # configuration and the public directory, nothing of the hub's.
        ref = ack["referral_id"]
        seen = run(
            watcher.read_until(
                [DECISIONS.name], lambda s: any(d.referral_id == ref for d in s.decoded(DECISIONS.name)), timeout=120
            )
        )
        decision = next(d for d in seen.decoded(DECISIONS.name) if d.referral_id == ref)
        assert decision.recipients, f"decided {decision.outcome.value} with nobody to act"
        recipient = decision.recipients[0].value
        own = tmp_path / recipient
        own.mkdir(mode=0o700)
        for f in agencies.agency_dir(mesh.state_dir, recipient).iterdir():
            if f.suffix == ".pem" or f.name == "client.properties":
                shutil.copyfile(f, own / f.name)
        shutil.copyfile(mesh.keys_dir / DIRECTORY, own / DIRECTORY)
        opened = agency_receive(client, own, recipient, f"mash.products.{recipient}", ref, "120s", "--from", "decision")
        assert opened.returncode == 0, opened.stderr
        product = json.loads(opened.stdout)
        assert product["referral_id"] == ref and product["recipient"] == recipient
        assert submission.subjects[0].family_name in opened.stdout, "the recipient reads the people it must act for"
    finally:
        asyncio.run(agencies.remove(mesh.access, mesh.keys_dir, NAME))
