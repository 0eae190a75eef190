"""`mash audit`: verify every service's chain of activity and answer who has seen a referral and what was
shared about a person. Reads each service's own store; needs the public key directory, and for person
queries the hub's subject pepper (so only the hub can turn a name into a token)."""

from __future__ import annotations

from datetime import date

from mash_runtime import audit
from mash_runtime.firewall import Directory
from mash_runtime.firewall.keys import load_pepper
from mash_runtime.store import make_engine

from .mesh import SERVICES, Mesh


def _engines(mesh: Mesh):
    for service in SERVICES:
        url = mesh.database_url(service)
        if url is not None:
            yield service, make_engine(url)


def verify(mesh: Mesh) -> bool:
    directory = Directory.load(mesh.keys_dir)
    ok = True
    for service, engine in _engines(mesh):
        report = audit.verify(engine, directory)
        engine.dispose()
        ok &= report.ok
        print(f"{service}: {report.entries} entries, " + ("chain and signatures verify" if report.ok else "TAMPERED"))
        for problem in report.problems:
            print(f"  {problem}")
    return ok


def _print(entries: list[dict]) -> None:
    for e in sorted(entries, key=lambda e: e["at"]):
        print(f"{e['at']:%Y-%m-%d %H:%M:%S} {e['service']:<15} {e['action']:<10} {e['referral_id'] or '-':<17} {e['reason']}")
    if not entries:
        print("no entries")


def _across_services(mesh: Mesh, query) -> list[dict]:
    entries = []
    for _, engine in _engines(mesh):
        entries += query(engine)
        engine.dispose()
    return entries


def seen(mesh: Mesh, referral_id: str) -> None:
    _print(_across_services(mesh, lambda engine: audit.who_has_seen(engine, referral_id)))


def shared(mesh: Mesh, *, nhs: str | None, family: str | None, given: str | None, dob: str | None) -> None:
    pepper = load_pepper(mesh.keys_dir)
    if nhs:
        token = audit.nhs_token(pepper, nhs)
    elif family and dob:
        token = audit.subject_token(pepper, family_name=family, given_name=given or "", date_of_birth=date.fromisoformat(dob))
    else:
        raise SystemExit("give --nhs, or --family and --dob (and --given)")
    _print(_across_services(mesh, lambda engine: audit.shared_about(engine, token)))
