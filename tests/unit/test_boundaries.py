"""Who may import whom: services never import each other, and the operator CLI imports no service and no tool (it
talks to a service through its API). Read from the source, so a new import that crosses a line fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {p.name: next(p.glob("mash_*/__init__.py")).parent.name for p in (ROOT / "services").iterdir() if p.is_dir()}


def imported(package: Path) -> dict[str, set[str]]:
    """Each module's imported top-level packages (relative imports left out: they stay inside the package)."""
    found: dict[str, set[str]] = {}
    for module in package.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(module.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_imports_no_other_service(service):
    package = SERVICES[service]
    others = set(SERVICES.values()) - {package}
    crossing = {
        m: sorted(names & others) for m, names in imported(ROOT / "services" / service / package).items() if names & others
    }
    assert crossing == {}, f"{service} imports another service: {crossing}"


def test_the_cli_imports_no_service_and_no_tool():
    forbidden = set(SERVICES.values()) | {"mash_tools"}
    crossing = {m: sorted(n & forbidden) for m, n in imported(ROOT / "deploy" / "cli" / "mash_cli").items() if n & forbidden}
    assert crossing == {}, f"the CLI imports a service or a tool (call the service's API instead): {crossing}"


def test_the_check_sees_imports():
    assert "mash_runtime" in set().union(*imported(ROOT / "services" / "decision" / "mash_decision").values())
