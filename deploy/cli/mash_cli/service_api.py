"""How the CLI talks to a running service: its HTTP API on loopback, with the managers' token from the keys
directory. The one client every command uses; none opens a service's store."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .mesh import Mesh

TOKEN_FILE = "manager-token"


class Refused(ValueError):
    """The service refused the request, with a reason a person can act on."""


def endpoint(mesh: Mesh, service: str) -> tuple[str, str]:
    """The base URL and token of `service` in the mesh run from this state directory."""
    port, token = mesh.http_port(service), mesh.keys_dir / TOKEN_FILE
    if port is None or mesh.pid(service) is None or not token.exists():
        raise SystemExit(f"the {service} service is not running from this state directory (start the mesh, or try --state)")
    return f"http://127.0.0.1:{port}", token.read_text().strip()


def call(base: str, token: str, method: str, path: str, body: dict | None = None, timeout: float = 30) -> Any:
    """The service's JSON answer. A refusal raises Refused with the service's reason; nobody answering, SystemExit."""
    request = urllib.request.Request(
        base.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - a service's own http(s) URL
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        try:
            reason = json.loads(e.read()).get("error") or e.reason
        except (ValueError, AttributeError):
            reason = e.reason
        raise Refused(str(reason)) from None
    except OSError as e:
        raise SystemExit(f"the service did not answer at {base}: {e}") from None


def call_service(mesh: Mesh, service: str, method: str, path: str, body: dict | None = None, timeout: float = 30) -> Any:
    return call(*endpoint(mesh, service), method, path, body, timeout)
