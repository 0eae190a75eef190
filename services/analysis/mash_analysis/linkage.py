"""Person linkage: is this subject someone the hub has seen before? Splink's Fellegi-Sunter model on DuckDB.

Each comparison (NHS number, forename, surname, date of birth, postcode) has levels with m and u probabilities;
a candidate's match weight is the sum of the levels' log2 Bayes factors and the prior, so every link can be
explained level by level. The NHS number is the strong identifier: the same number is a certain link, two
different numbers never link. A different forename with no agreeing NHS number is never certain on its own
(twins and siblings share a surname, a date of birth and an address): it is a possible link, shown as uncertain.

The store finds candidates by blocking keys (`blocking_keys`, kept as keyed HMACs) and this module scores them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
from splink import DuckDBAPI
from splink.internals.realtime import compare_records

MODEL = Path(__file__).with_name("linkage_model.json")
CERTAIN = 0.99  # match probability at or above which a link joins the person
POSSIBLE = 0.5  # at or above which it is recorded and shown as uncertain
FIELDS = ("nhs_number", "given_name", "family_name", "date_of_birth", "postcode")


@dataclass(frozen=True)
class PersonRecord:
    record_id: str
    given_name: str | None
    family_name: str
    date_of_birth: date | None
    nhs_number: str | None
    postcode: str | None
    address_line1: str | None


@dataclass(frozen=True)
class Link:
    record_id: str
    probability: float
    weight: float
    certain: bool
    explanation: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        return "; ".join(f"{what} ({weight:+.1f})" for what, weight in self.explanation)


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").lower().replace("-", " ").replace("'", "").split())
    return text or None


def _row(r: PersonRecord) -> dict:
    return {"record_id": r.record_id, "nhs_number": r.nhs_number, "given_name": _clean(r.given_name),
            "family_name": _clean(r.family_name), "date_of_birth": r.date_of_birth.isoformat() if r.date_of_birth else None,
            "postcode": "".join((r.postcode or "").upper().split()) or None}


def blocking_keys(r: PersonRecord) -> set[str]:
    """Keys under which a record's candidates are found: any one in common makes two records candidates."""
    keys: set[str] = set()
    family = "".join(ch for ch in (_clean(r.family_name) or "") if ch.isalpha())
    given = "".join(ch for ch in (_clean(r.given_name) or "") if ch.isalpha())
    if r.nhs_number:
        keys.add(f"nhs:{r.nhs_number}")
    if r.date_of_birth:
        keys.add(f"dob:{r.date_of_birth.isoformat()}")
        keys.add(f"surname-year:{family[:3]}|{r.date_of_birth.year}")
        keys.add(f"given-month:{given[:2]}|{r.date_of_birth.month:02d}-{r.date_of_birth.day:02d}")
    postcode = "".join((r.postcode or "").upper().split())
    if postcode:
        keys.add(f"postcode:{postcode}|{family[:1]}")
    if not r.date_of_birth and not r.nhs_number:
        keys.add(f"surname-given:{family[:4]}|{given[:1]}")
    return keys


class PersonLinker:
    def __init__(self, model: Path = MODEL):
        self.settings = json.loads(model.read_text())
        self._lock = threading.Lock()  # one DuckDB connection, used by one thread at a time
        self._db = DuckDBAPI(connection=duckdb.connect())
        self._labels = {c["output_column_name"]: [lv["label_for_charts"] for lv in c["comparison_levels"]]
                        for c in self.settings["comparisons"]}

    def links(self, record: PersonRecord, candidates: Sequence[PersonRecord]) -> list[Link]:
        """The candidates it may be, best first: certain links and possible ones; none below POSSIBLE."""
        pool = [c for c in candidates if not (record.nhs_number and c.nhs_number and record.nhs_number != c.nhs_number)]
        if not pool:
            return []
        with self._lock:
            scored = compare_records([_row(record)], [_row(c) for c in pool], self.settings, self._db,
                                     sql_cache_key="mash-person-links").as_record_list()
        out = []
        for row in scored:
            probability = float(row["match_probability"])
            if probability < POSSIBLE:
                continue
            explanation = tuple(self._explain(row))
            nhs_agrees = bool(record.nhs_number) and record.nhs_number == next(
                c.nhs_number for c in pool if c.record_id == row["record_id_r"])
            forename_differs = row.get("gamma_given_name") == 0
            certain = nhs_agrees or (probability >= CERTAIN and not forename_differs)
            out.append(Link(str(row["record_id_r"]), probability, float(row["match_weight"]), certain, explanation))
        return sorted(out, key=lambda lk: (not lk.certain, -lk.probability))

    def _explain(self, row: dict) -> list[tuple[str, float]]:
        parts = []
        for column, labels in self._labels.items():
            gamma = row.get(f"gamma_{column}")
            weight = row.get(f"mw_{column}")
            if gamma is None or gamma == -1 or weight is None:
                continue
            # Levels are listed from the null level down to ELSE; gamma counts up from ELSE = 0.
            parts.append((labels[len(labels) - 1 - gamma], round(float(weight), 1)))
        return parts
