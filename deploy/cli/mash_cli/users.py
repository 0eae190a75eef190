"""`mash users add|disable|list`: the people who sign in to the web front door, through its API. A new person's
password is generated here and shown once; the service keeps only its argon2 hash."""

from __future__ import annotations

import secrets

from .mesh import Mesh
from .service_api import call_service


def run(mesh: Mesh, action: str, username: str | None, name: str | None, role: str | None) -> int:
    if action == "list":
        for p in call_service(mesh, "web", "GET", "/admin/users"):
            print(f"{p['username']:<24} {p['role']:<14} {p['display_name']}{'  (disabled)' if p['disabled'] else ''}")
        return 0
    if not username:
        raise ValueError(f"mash users {action} needs a username")
    if action == "disable":
        call_service(mesh, "web", "POST", "/admin/users/disable", {"username": username})
        print(f"{username} disabled; their sessions have ended")
        return 0
    if not (name and role):
        raise ValueError("mash users add needs --name and --role")
    password = secrets.token_urlsafe(18)
    call_service(
        mesh, "web", "POST", "/admin/users", {"username": username, "display_name": name, "role": role, "password": password}
    )
    print(f"added {username} ({role}); their password, shown once: {password}")
    return 0
