"""The whole mesh with every service's store on PostgreSQL (Debian's package), each in its own database:
the same referrals routed as on SQLite, the audit chains verifying, and no SQLite file anywhere."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import create_engine, func, select

from mash_cli import audit
from mash_cli.kafka import LocalKafka
from mash_cli.mesh import SERVICES, UNATTENDED, Mesh
from mash_cli.topics import create_topics
from mash_contracts.topics import WEB
from mash_decision.tables import decisions
from mash_runtime.audit import audit_log
from mash_tools import population
from mash_tools.synthetic import Generator

from .test_mesh import FLOW, referral_ids, routed
from .test_web_front_door import ANSWERS, Browser, csrf_of
from .watch import Watcher, run

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def test_the_mesh_routes_referrals_with_every_store_on_postgresql(postgres_server, tmp_path):
    kafka = LocalKafka(tmp_path / "kafka")  # its own broker: the session mesh's consumer groups have the same names
    access = kafka.start()
    mesh = None
    try:
        asyncio.run(create_topics(access))
        mesh = Mesh(access, tmp_path, extra_env=dict(UNATTENDED))
        mesh.on_postgres(postgres_server)
        population.write_population(tmp_path / "population.json", population.build_population(seed=3, families=40))
        mesh.init()
        mesh.enrol_simulated_agencies()
        mesh.seed(tmp_path / "population.json")
        mesh.start()
        mesh.wait_ready()
        generator = Generator(seed=uuid.uuid4().int)
        submissions = [generator.notification() for _ in range(4)]
        watcher = Watcher(mesh.access, mesh.keys_dir)
        run(watcher.submit(*submissions))
        # And one through the web front door, so its store on PostgreSQL has work to show too.
        web = Browser(f"http://127.0.0.1:{mesh.http_port(WEB)}")
        status, url, _ = web.post("/referral", ANSWERS | {"csrf": csrf_of(web.get("/referral")[2])})
        assert status == 200 and "/referral/sent/" in url
        ours = {s.submission_id for s in submissions}
        seen = run(watcher.read_until(FLOW, lambda s: len(referral_ids(s, ours)) == 4 and routed(s, referral_ids(s, ours))))
        refs = referral_ids(seen, ours)
        mesh.stop()

        assert audit.verify(mesh)
        for service in SERVICES:
            url = mesh.database_url(service)
            assert url.startswith("postgresql") and url.endswith(f"/mash_{service}"), url
            engine = create_engine(url)
            with engine.connect() as conn:
                mine = audit_log.c.action == "submitted" if service == WEB else audit_log.c.referral_id.in_(refs)
                entries = conn.execute(select(func.count()).select_from(audit_log).where(mine)).scalar()
                if service == "decision":
                    decided = conn.execute(
                        select(func.count()).select_from(decisions).where(decisions.c.referral_id.in_(refs))
                    ).scalar()
                    assert decided == 4
            engine.dispose()
            assert entries >= (1 if service == WEB else 4), f"{service} recorded its work in its own PostgreSQL database"
        assert not list(tmp_path.rglob("*.db")), "no service fell back to SQLite"
    finally:
        if mesh is not None:
            mesh.stop()
        kafka.stop()
