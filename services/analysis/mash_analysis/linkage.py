"""Person linkage: is this subject someone the hub has seen before? Splink's Fellegi-Sunter model on DuckDB.

Each comparison (NHS number, forename, surname, date of birth, address) has levels with m and u probabilities
trained on a synthetic population (`train`); a pair's match weight is the prior plus each level's log2 Bayes
factor, so every link is explained level by level, in field names and levels only. The NHS number is the strong
identifier: the same number is a certain link, two different numbers never link. Without an agreeing NHS number a
forename that differs outright is never certain (twins share a surname, a date of birth and an address): at most
a possible link, shown as uncertain and never merged. Figures and thresholds: docs/linkage.md.

The store finds candidates by `blocking_keys` (it keeps them as keyed HMACs) and `PersonLinker.links` scores them;
`PersonLinker.clusters` links a whole batch with the same keys as its blocking, so streaming and batch agree.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker, block_on
from splink.clustering import cluster_pairwise_predictions_at_threshold
from splink.internals.realtime import compare_records

MODEL = Path(__file__).with_name("linkage_model.json")
# Thresholds on Splink's match probability, chosen from the measured figures (docs/linkage.md): at CERTAIN the
# certain links' precision on the synthetic population is above 99.5% while recall stays high; between POSSIBLE
# and CERTAIN a link is worth a practitioner's look.
CERTAIN = 0.99
POSSIBLE = 0.5
SEED = 1  # the training population's; measurement uses another (7), so the model is not judged on its own data

# Common English forenames and the names people are known by. Two forenames agree as aliases when they share a
# full name (Bill and Will are both William; Alex is Alexander or Alexandra).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "william": ("bill", "billy", "will", "liam"),
    "elizabeth": ("liz", "lizzie", "beth", "betty", "eliza"),
    "robert": ("bob", "bobby", "rob", "robbie"),
    "richard": ("rich", "rick", "dick"),
    "james": ("jim", "jimmy", "jamie"),
    "margaret": ("maggie", "meg", "peggy"),
    "catherine": ("cathy", "kate", "katie"),
    "katherine": ("kath", "kate", "katie"),
    "thomas": ("tom", "tommy"),
    "michael": ("mike", "mick", "mikey"),
    "christopher": ("chris", "kit"),
    "daniel": ("dan", "danny"),
    "samuel": ("sam", "sammy"),
    "joseph": ("joe", "joey"),
    "alexander": ("alex", "sandy"),
    "alexandra": ("alex", "sandra", "lexi"),
    "anthony": ("tony", "ant"),
    "matthew": ("matt", "matty"),
    "benjamin": ("ben", "benji"),
    "jonathan": ("jon", "jonny"),
    "nicholas": ("nick", "nicky"),
    "andrew": ("andy", "drew"),
    "stephen": ("steve", "stevie"),
    "steven": ("steve", "stevie"),
    "edward": ("ed", "eddie", "ted", "ned"),
    "jennifer": ("jen", "jenny"),
    "rebecca": ("becky", "becca"),
    "victoria": ("vicky", "tori"),
    "samantha": ("sam", "sammy"),
    "deborah": ("debbie", "deb"),
    "susan": ("sue", "susie"),
    "patricia": ("pat", "trish"),
    "charlotte": ("lottie", "charlie"),
    "olivia": ("liv", "livvy"),
    "abigail": ("abbie", "abby"),
    "jessica": ("jess", "jessie"),
    "natalie": ("nat",),
    "joshua": ("josh",),
    "nathan": ("nate", "nat"),
    "frederick": ("fred", "freddie"),
    "henry": ("harry", "hal"),
    "harold": ("harry",),
    "peter": ("pete",),
    "david": ("dave", "davy"),
    "philip": ("phil",),
    "timothy": ("tim", "timmy"),
    "gregory": ("greg",),
    "kenneth": ("ken", "kenny"),
    "ronald": ("ron", "ronnie"),
    "donald": ("don", "donny"),
    "leonard": ("len", "lenny"),
    "lawrence": ("larry", "laurie"),
    "charles": ("charlie", "chas", "chuck"),
    "eleanor": ("ellie", "nell"),
    "isabella": ("bella", "izzy"),
    "isabel": ("izzy", "bella"),
    "amelia": ("millie", "amy"),
    "emily": ("em", "emmy"),
    "gabriel": ("gabe",),
    "zachary": ("zac", "zach"),
    "theodore": ("theo", "ted"),
    "oliver": ("ollie",),
    "jacob": ("jake",),
    "archibald": ("archie",),
    "matilda": ("tilly", "tilda"),
    "penelope": ("penny",),
    "josephine": ("josie", "jo"),
    "christine": ("chris", "tina"),
    "christina": ("chris", "tina"),
    "kimberley": ("kim",),
    "pamela": ("pam",),
    "barbara": ("barbie", "babs"),
    "judith": ("judy",),
    "dorothy": ("dot", "dotty"),
    "gemma": ("gem",),
    "jacqueline": ("jackie", "jacqui"),
    "joanne": ("jo",),
    "gillian": ("gill", "jill"),
    "alan": ("al",),
    "raymond": ("ray",),
    "terence": ("terry",),
    "gary": ("gaz",),
    "jack": ("jacky",),
    "mohammed": ("mo",),
    "muhammad": ("mo",),
    "sophie": ("soph",),
    "sophia": ("sophie",),
    "megan": ("meg",),
    "hannah": ("hanna",),
    "lucy": ("lou",),
    "louise": ("lou", "lulu"),
    "jeffrey": ("jeff",),
    "francesca": ("fran", "frankie"),
    "frances": ("fran", "frankie"),
    "francis": ("frank", "frankie"),
    "dominic": ("dom",),
    "luke": ("lucas",),
    "ellie": ("elle",),
    "martin": ("marty",),
    "kathleen": ("kath", "kathy"),
}
_ALIASES: dict[str, list[str]] = {}
for _full, _short in NICKNAMES.items():
    for _name in (_full, *_short):
        _ALIASES.setdefault(_name, []).append(_full)


@dataclass(frozen=True)
class PersonRecord:
    """One person as one notification names them."""

    record_id: str
    given_name: str | None
    family_name: str
    date_of_birth: date | None
    nhs_number: str | None  # 10 digits, check digit already valid when present
    postcode: str | None
    address_line1: str | None


@dataclass(frozen=True)
class Link:
    record_id: str  # the candidate it links to
    probability: float
    weight: float  # Splink's match weight, log2 of the Bayes factor with the prior
    certain: bool  # False: a possible link, shown as uncertain, never merged
    explanation: tuple[tuple[str, float], ...]  # (what agreed or differed, in field names only; its match weight)

    def describe(self) -> str:
        return "; ".join(f"{what} ({weight:+.1f})" for what, weight in self.explanation)


# --- preparing records ---------------------------------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    text = " ".join((value or "").lower().replace("-", " ").replace("'", "").replace(".", "").split())
    return text or None


def _letters(value: str | None) -> str:
    return "".join(ch for ch in (_clean(value) or "") if ch.isalpha())


def _postcode(value: str | None) -> str | None:
    return "".join((value or "").upper().split()) or None


def soundex(word: str) -> str:
    """American Soundex: names that sound alike share a code despite most single-letter typos."""
    word = "".join(ch for ch in word.upper() if ch.isalpha())
    if not word:
        return ""
    codes = {
        **dict.fromkeys("BFPV", "1"),
        **dict.fromkeys("CGJKQSXZ", "2"),
        **dict.fromkeys("DT", "3"),
        "L": "4",
        **dict.fromkeys("MN", "5"),
        "R": "6",
    }
    out, last = word[0], codes.get(word[0], "")
    for ch in word[1:]:
        code = codes.get(ch, "")
        if code and code != last:
            out += code
        if ch not in "HW":  # H and W do not separate two letters with the same code
            last = code
    return (out + "000")[:4]


def _given_sound(given: str | None) -> str | None:
    name = _letters(given)
    if not name:
        return None
    return soundex(sorted(_ALIASES.get(name, [name]))[0])  # a nickname sounds like its full name


def spelling(given: str | None) -> str | None:
    """A forename as it sounds, for names spelt several ways (Maisie and Maisy, Katie and Katy, Stephen and
    Steven, Philippa and Phillipa): the same key means the same name, where Jade and Jodie still differ."""
    name = _letters(given)
    if not name:
        return None
    name = name.replace("ph", "f").replace("v", "f").replace("ck", "k").replace("kh", "k")
    for ending in ("ey", "ie", "ee", "ea"):
        if name.endswith(ending) and len(name) > 3:
            name = name[: -len(ending)] + "i"
    name = name.replace("y", "i")
    collapsed = name[:1] + "".join(b for a, b in zip(name, name[1:]) if a != b)  # double letters once
    return collapsed[:-1] if collapsed.endswith("e") and len(collapsed) >= 3 else collapsed


def aliases(given: str | None) -> list[str]:
    name = _letters(given)
    return sorted(set(_ALIASES.get(name, [])) | ({name} if name else set()))


def blocking_keys(r: PersonRecord) -> set[str]:
    """Plain-text keys under which a record's candidates are found: any one key in common makes two records
    candidates. Each survives a different corruption: a missing NHS number (dob, names), a typo in a name (dob,
    the other name's sound), a nickname (the full name's sound), an old address (everything but postcode), a
    missing or transposed date of birth (names, postcode). The batch blocking is exactly these keys."""
    keys: set[str] = set()
    family = _letters(r.family_name)
    surname_sound = soundex(family)
    given_sound = _given_sound(r.given_name)
    postcode = _postcode(r.postcode)
    if r.nhs_number:
        keys.add(f"nhs:{r.nhs_number}")
    if r.date_of_birth:
        born = r.date_of_birth
        keys.add(f"dob:{born.isoformat()}")
        if surname_sound:
            keys.add(f"surname-sound:{surname_sound}|{born.year}")
        if given_sound:
            keys.add(f"given-sound:{given_sound}|{born.month:02d}-{born.day:02d}")
    if given_sound and surname_sound:
        keys.add(f"names-sound:{given_sound}|{surname_sound}")
    if postcode and family:
        keys.add(f"postcode:{postcode}|{family[0]}")
    return keys


@functools.lru_cache(maxsize=65_536)  # a person's earlier appearances are candidates again and again
def _row(r: PersonRecord) -> dict[str, Any]:
    return {
        "record_id": r.record_id,
        "nhs_number": r.nhs_number,
        "given_name": _letters(r.given_name) or None,
        "given_aliases": aliases(r.given_name),
        "given_spelling": spelling(r.given_name),
        "family_name": _letters(r.family_name) or None,
        "date_of_birth": r.date_of_birth.isoformat() if r.date_of_birth else None,
        "postcode": _postcode(r.postcode),
        "address_line1": _clean(r.address_line1),
        "blocking_keys": sorted(blocking_keys(r)),
    }


# --- the model -----------------------------------------------------------------------------------------------


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _null(column: str, label: str) -> dict[str, Any]:
    return _level(f'"{column}_l" IS NULL OR "{column}_r" IS NULL', label, is_null_level=True)


def _jw(column: str, threshold: float) -> str:
    return f'jaro_winkler_similarity("{column}_l", "{column}_r") >= {threshold}'


def _dob_part(side: str, start: int, length: int) -> str:
    return f'substr("date_of_birth_{side}", {start}, {length})'


def comparisons() -> list[dict[str, Any]]:
    """The comparisons, untrained: levels from best to worst, labels in field names only (they are the explanation)."""
    y, m, d = (
        (_dob_part("l", 1, 4), _dob_part("r", 1, 4)),
        (_dob_part("l", 6, 2), _dob_part("r", 6, 2)),
        (_dob_part("l", 9, 2), _dob_part("r", 9, 2)),
    )
    same = lambda part: f"{part[0]} = {part[1]}"  # noqa: E731
    return [
        {
            "output_column_name": "nhs_number",
            "comparison_description": "NHS number",
            "comparison_levels": [
                _null("nhs_number", "NHS number not known on both"),
                _level('"nhs_number_l" = "nhs_number_r"', "NHS number agrees"),
                _level("ELSE", "NHS number differs"),
            ],
        },
        {
            "output_column_name": "given_name",
            "comparison_description": "forename",
            "comparison_levels": [
                _null("given_name", "forename not known on both"),
                _level('"given_name_l" = "given_name_r"', "forename agrees"),
                _level('list_has_any("given_aliases_l", "given_aliases_r")', "forename a known alias (nickname)"),
                _level('"given_spelling_l" = "given_spelling_r"', "forename spelt another way"),
                _level('damerau_levenshtein("given_name_l", "given_name_r") <= 1', "forename one keying slip apart"),
                _level(_jw("given_name", 0.8), "forename similar"),
                _level("ELSE", "forename differs"),
            ],
        },
        {
            "output_column_name": "family_name",
            "comparison_description": "surname",
            "comparison_levels": [
                _null("family_name", "surname not known on both"),
                _level('"family_name_l" = "family_name_r"', "surname agrees"),
                _level(_jw("family_name", 0.92), "surname very similar"),
                _level(_jw("family_name", 0.8), "surname similar"),
                _level("ELSE", "surname differs"),
            ],
        },
        {
            "output_column_name": "date_of_birth",
            "comparison_description": "date of birth",
            "comparison_levels": [
                _null("date_of_birth", "date of birth not known on both"),
                _level('"date_of_birth_l" = "date_of_birth_r"', "date of birth agrees"),
                _level(f"{same(y)} AND {m[0]} = {d[1]} AND {d[0]} = {m[1]}", "date of birth with day and month swapped"),
                _level(
                    f"({same(y)} AND {same(m)}) OR ({same(y)} AND {same(d)}) OR ({same(m)} AND {same(d)})",
                    "date of birth one part different",
                ),
                _level(f"{same(y)}", "year of birth agrees"),
                _level("ELSE", "date of birth differs"),
            ],
        },
        # One comparison for the address: postcode and first line move together, so two would count a move twice.
        {
            "output_column_name": "address",
            "comparison_description": "address",
            "comparison_levels": [
                _level('"postcode_l" IS NULL OR "postcode_r" IS NULL', "address not known on both", is_null_level=True),
                _level('"postcode_l" = "postcode_r" AND "address_line1_l" = "address_line1_r"', "address agrees"),
                _level('"postcode_l" = "postcode_r"', "postcode agrees"),
                # Postcodes are kept without their space: the outward code (the district) is all but the last three.
                _level(
                    'left("postcode_l", length("postcode_l") - 3) = left("postcode_r", length("postcode_r") - 3)',
                    "same postcode district",
                ),
                _level("ELSE", "address differs"),
            ],
        },
    ]


def _prediction_rules() -> list:
    return [block_on("blocking_keys", arrays_to_explode=["blocking_keys"])]


def train(people: int = 10_000, seed: int = SEED, out: Path | None = MODEL) -> dict[str, Any]:
    """Train the model on a synthetic population, deterministically: u by random sampling (seeded), m by
    expectation maximisation on two blocking rules that each leave the other's fields free. Returns the settings;
    writes them (parameters only, no records) to `out`."""
    from .synthetic_people import population

    rows = [_row(a.record) for a in population(people, seed)]
    con = duckdb.connect()
    con.execute("SET threads TO 1")  # sampling and EM in one order: the same model every time
    settings = {
        "link_type": "dedupe_only",
        "unique_id_column_name": "record_id",
        "comparisons": comparisons(),
        "blocking_rules_to_generate_predictions": _prediction_rules(),
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": False,
    }
    db = DuckDBAPI(connection=con)
    linker = Linker(db.register(pa.Table.from_pylist(rows)), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nhs_number"), block_on("given_name", "family_name", "date_of_birth", "postcode")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=seed)
    # EM blocks chosen so that neither admits household members as matches (siblings share a surname and an
    # address, twins a date of birth too): the same NHS number (all but the NHS number's own levels), then the same
    # date of birth and forename (the NHS number's levels, with surname and address again).
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("nhs_number"), record_sample_proportion=1.0)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth", "given_name"), record_sample_proportion=1.0
    )
    model = _rounded(linker.misc.save_model_to_json())
    model.pop("linker_uid", None)  # random per run: the retrained file is byte-identical without it
    if out is not None:
        out.write_text(json.dumps(model, indent=1) + "\n")
    return model


def _rounded(value: Any) -> Any:
    """Parameters to 6 significant figures: the committed model does not churn on floating-point noise."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


# Forename levels (gamma, ELSE = 0) that never make a certain link without the NHS number: it differs, or is only
# similar (Jade and Jodie, twins, are 0.8 alike but two letters apart; a typo is one). With no date of birth to
# tell a household apart, only the same forename or a known alias will do (Mary and Mark, Sian and Ian).
_FORENAME_DIFFERS = (0, 1)
_FORENAME_SAME = 4  # a known alias or better


def _certain_sql() -> str:
    return (
        f"(gamma_nhs_number = 1 or (match_probability >= {CERTAIN} and gamma_given_name not in "
        f"({', '.join(map(str, _FORENAME_DIFFERS))}) and (gamma_date_of_birth != -1 or gamma_given_name >= {_FORENAME_SAME})))"
    )


def _certain(row: dict, nhs_agrees: bool) -> bool:
    forename, born = row.get("gamma_given_name"), row.get("gamma_date_of_birth")
    return nhs_agrees or (
        float(row["match_probability"]) >= CERTAIN
        and forename not in _FORENAME_DIFFERS
        and (born != -1 or (forename is not None and forename >= _FORENAME_SAME))
    )


# --- scoring ---------------------------------------------------------------------------------------------------


class PersonLinker:
    def __init__(self, model: Path = MODEL):
        self.settings = json.loads(model.read_text())
        self._lock = threading.Lock()  # one DuckDB connection, used by one thread at a time
        self._db = DuckDBAPI(connection=duckdb.connect())
        self._labels = {
            c["output_column_name"]: [lv["label_for_charts"] for lv in c["comparison_levels"]]
            for c in self.settings["comparisons"]
        }
        self._cache_key = f"mash-person-links-{id(self)}"
        nhs = next(c for c in self.settings["comparisons"] if c["output_column_name"] == "nhs_number")
        agrees = next(lv for lv in nhs["comparison_levels"] if lv.get("label_for_charts") == "NHS number agrees")
        self._nhs_weight = round(math.log2(agrees["m_probability"] / agrees["u_probability"]), 1)

    def links(self, record: PersonRecord, candidates: Sequence[PersonRecord]) -> list[Link]:
        """The candidates this record may be, best first: certain links, then possible ones; none below POSSIBLE."""
        return self.links_many([(record, candidates)])[0]

    def links_many(self, asked: Sequence[tuple[PersonRecord, Sequence[PersonRecord]]]) -> list[list[Link]]:
        """`links` for each (record, its candidates) of one notification, scored in one query: the cost of a query
        is mostly its own, not its rows'. A record whose NHS number a candidate shares is linked by that rule alone."""
        out: list[list[Link]] = [[] for _ in asked]
        left, right, pools = [], {}, {}
        for i, (record, candidates) in enumerate(asked):
            pool = {
                c.record_id: c
                for c in candidates
                if not (record.nhs_number and c.nhs_number and record.nhs_number != c.nhs_number)
            }
            same = [c for c in pool.values() if record.nhs_number and c.nhs_number == record.nhs_number]
            if same:  # the strong identifier: certain, whatever else differs, and nothing else is asked
                out[i] = [
                    Link(c.record_id, 1.0, self._nhs_weight, True, (("NHS number agrees", self._nhs_weight),)) for c in same
                ]
                continue
            if pool:
                row = dict(_row(record))
                row["record_id"] = f"\x00new{i}"  # never the same id as a candidate
                left.append(row)
                pools[row["record_id"]] = (i, pool)
                right.update({c.record_id: c for c in pool.values()})
        if not left:
            return out
        with self._lock:
            try:
                scored = compare_records(
                    left,
                    [_row(c) for c in right.values()],
                    self.settings,
                    self._db,
                    sql_cache_key=self._cache_key + f"-{len(left)}x",
                ).as_record_list()
            finally:
                self._forget()
        for row in scored:
            i, pool = pools[str(row["record_id_l"])]
            other = pool.get(str(row["record_id_r"]))
            if other is None:  # another subject's candidate: the query pairs every subject with every candidate
                continue
            probability = float(row["match_probability"])
            if probability < POSSIBLE:
                continue
            out[i].append(
                Link(other.record_id, probability, float(row["match_weight"]), _certain(row, False), self._explain(row))
            )
        return [sorted(links, key=lambda lk: (not lk.certain, -lk.probability)) for links in out]

    def _forget(self) -> None:
        """Splink's realtime comparison leaves its two inputs (registered views) and its result (a table) in the
        connection, and tracks each in its caches: a third of a megabyte a call, held for ever (1 GiB after 2,500
        notifications). The connection is this linker's alone and holds nothing between calls, so all of it goes once
        the rows are read."""
        con = self._db._con
        for (name,) in con.execute("select table_name from duckdb_tables() where not internal").fetchall():
            con.execute(f'drop table if exists "{name}"')
        for (name,) in con.execute("select view_name from duckdb_views() where not internal").fetchall():
            con.unregister(name)
        self._db._created_tables.clear()
        self._db._intermediate_table_cache.reset_executed_queries_tracker()

    def _explain(self, row: dict) -> tuple[tuple[str, float], ...]:
        parts = []
        for column, labels in self._labels.items():
            gamma, weight = row.get(f"gamma_{column}"), row.get(f"mw_{column}")
            if gamma is None or gamma == -1 or weight is None:
                continue
            # Levels are listed from the null level down to ELSE; gamma counts up from ELSE = 0.
            parts.append((labels[len(labels) - 1 - gamma], round(float(weight), 1)))
        return tuple(sorted(parts, key=lambda p: -abs(p[1])))

    def pairs(self, records: Sequence[PersonRecord]) -> list[tuple[str, str, float, bool]]:
        """Every pair the blocking keys find at or above POSSIBLE (or sharing an NHS number), with Splink's match
        probability and whether it is certain by the same rule as `links`: (record_id, record_id, probability, certain)."""
        rows = [_row(r) for r in records]
        con = duckdb.connect()
        try:
            db = DuckDBAPI(connection=con)
            settings = {**self.settings, "retain_matching_columns": True}  # the gamma columns the rule reads
            linker = Linker(db.register(pa.Table.from_pylist(rows)), settings, log_level=logging.WARNING)
            predictions = linker.inference.predict(threshold_match_probability=None)
            # Splink's gamma: -1 unknown, 0 the ELSE level (different number, or a forename that differs outright).
            sql = f"""
                select record_id_l, record_id_r, match_probability,
                       {_certain_sql()} as certain
                from {predictions.physical_name}
                where gamma_nhs_number != 0 and (match_probability >= {POSSIBLE} or gamma_nhs_number = 1)
            """
            return [(str(a), str(b), float(p), bool(c)) for a, b, p, c in con.execute(sql).fetchall()]
        finally:
            con.close()

    def clusters(self, records: Sequence[PersonRecord]) -> dict[str, str]:
        """Batch dedupe: record_id -> cluster id, joining only certain links (possible ones are never merged)."""
        certain = [(a, b) for a, b, _, sure in self.pairs(records) if sure]
        con = duckdb.connect()
        try:
            nodes = [{"record_id": r.record_id} for r in records]
            edges = [{"record_id_l": a, "record_id_r": b} for a, b in certain] or None
            if edges is None:
                return {r.record_id: r.record_id for r in records}
            out = cluster_pairwise_predictions_at_threshold(nodes, edges, DuckDBAPI(connection=con), "record_id")
            return {str(a): str(b) for a, b in con.execute(f"select record_id, cluster_id from {out.physical_name}").fetchall()}
        finally:
            con.close()
