"""Composition root of the Health desk."""

from mash_contracts import Agency
from mash_runtime.desk import build_desk_app
from mash_runtime.service import run

from .policy import POLICY_VERSION, research


def main() -> None:
    app, _broker = build_desk_app(Agency.HEALTH, POLICY_VERSION, research)
    run(app)
