"""The HTML report and its CSVs: produced offline, charts inline as SVG with text alternatives, every table's CSV
the same as the table in the page, no ids or personal data, and no suppressed count ever shown as a number."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from html.parser import HTMLParser

import pytest

from mash_analysis.figures import figures
from mash_analysis.report import report_files, write_report
from mash_analysis.suppression import SUPPRESSED
from mash_analysis.year import synthetic_year
from mash_cli.analysis_report import write_files
from mash_tools.analysis import main, render

pytestmark = pytest.mark.unit
START, END = date(2025, 4, 1), date(2026, 3, 31)


@pytest.fixture(scope="module")
def year_rows():
    return synthetic_year(800, seed=11)


@pytest.fixture(scope="module")
def report(year_rows, tmp_path_factory):
    f = figures(year_rows, START, END)
    out = tmp_path_factory.mktemp("report")
    write_report(f, out)
    return f, out


class Tables(HTMLParser):
    """Each <table data-table=NAME> as rows of cell text."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.current = dict(attrs)["data-table"]
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.current].append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def test_the_page_has_the_headline_and_every_chart_inline_with_a_text_alternative(report):
    f, out = report
    page = (out / "index.html").read_text()
    # self-contained: nothing fetched when it is opened (namespace URIs inside the SVG are names, not fetches)
    assert not re.search(r'<script|<link|<img|(src|href)="(https?:)?//', page)
    svgs = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(svgs) >= 7
    for svg in svgs:
        assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    assert page.count("<figcaption>") == len(svgs)
    for h in f.headline:
        assert h.label in page
    assert page.index('id="summary"') < page.index("<svg")  # the headline numbers come first


def test_each_csv_is_the_table_in_the_page(report):
    f, out = report
    parser = Tables()
    parser.feed((out / "index.html").read_text())
    for t in f.tables:
        with open(out / f"{t.name}.csv", newline="") as fh:
            from_csv = list(csv.reader(fh))
        assert from_csv == parser.tables[t.name], t.name
        assert len(from_csv) == 1 + len(t.rows) + (1 if t.column_totals is not None else 0)


def test_no_suppressed_count_appears_as_a_number(report):
    f, out = report
    assert any(v == SUPPRESSED for t in f.tables for row in t.cells for v in row)
    for t in f.tables:
        rate_col = t.rate_label
        with open(out / f"{t.name}.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            for column, value in row.items():
                if column in (t.row_label, rate_col):
                    continue
                assert value == SUPPRESSED or (value.isdigit() and (int(value) == 0 or int(value) >= 5)), (t.name, column, value)


def test_no_ids_or_personal_data_in_the_report(report, year_rows):
    _, out = report
    text = "".join(p.read_text() for p in out.iterdir())
    assert "REF-" not in text and "Household" not in text and "Synthetic referrer" not in text
    for r in year_rows[:200]:
        assert r.referral_id not in text
        for child in r.children:
            assert child not in text


def test_render_from_the_services_json_gives_the_same_csvs(report, tmp_path):
    f, out = report
    raw = json.loads(json.dumps(f.to_json()))  # as GET /figures would send it
    render(raw, tmp_path)
    for t in f.tables:
        assert (tmp_path / f"{t.name}.csv").read_text() == (out / f"{t.name}.csv").read_text()


def test_year_command_prints_timings_and_headline(tmp_path, capsys):
    assert main(["year", "--notifications", "400", "--seed", "5", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "400 notifications (seed 5): generated in" in printed and "Contacts received" in printed
    assert (tmp_path / "index.html").exists() and (tmp_path / "ssd_contacts.csv").exists()


def test_report_command_from_a_saved_figures_file(report, tmp_path, capsys):
    f, _ = report
    saved = tmp_path / "figures.json"
    saved.write_text(json.dumps(f.to_json()))
    assert main(["render", "--from", str(saved), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").exists()
    assert "report:" in capsys.readouterr().out


def test_the_operator_writes_the_report_as_the_service_sends_it(report, tmp_path):
    f, out = report
    served = json.loads(json.dumps({"headline": f.to_json()["headline"], "files": report_files(f)}))  # GET /report
    page = write_files(served, tmp_path)
    assert page == tmp_path / "index.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in out.iterdir())
    for p in out.iterdir():
        assert (tmp_path / p.name).read_text() == p.read_text()


@pytest.mark.parametrize(
    "files",
    [
        {"index.html": "<p>", "../escape.csv": "x"},
        {"index.html": "<p>", "/etc/cron.d/x.csv": "x"},
        {"index.html": "<p>", "run.sh": "x"},
        {"index.html": "<p>", "table.csv": 7},
        {"table.csv": "a,b"},
    ],
)
def test_the_operator_writes_nothing_from_an_answer_that_is_not_a_plain_report(files, tmp_path):
    with pytest.raises(ValueError):
        write_files({"headline": [], "files": files}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_csv_is_plain_csv(report):
    _, out = report
    text = (out / "contacts_by_month_and_source.csv").read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "month" and rows[-1][0] == "total"


def test_the_report_command_passes_a_token_that_begins_with_a_dash(monkeypatch, tmp_path):
    # secrets.token_urlsafe may begin with "-": passed as its own word, argparse took it for an option and refused.
    import mash_cli.__main__ as cli
    import mash_cli.analysis_report as analysis_report
    import mash_cli.service_api as service_api

    asked = []
    monkeypatch.setattr(service_api, "endpoint", lambda mesh, service: ("http://127.0.0.1:9", "-Xy_token"))

    def fetch(url, token):
        asked.append((url, token))
        raise ValueError("stopped here")

    monkeypatch.setattr(analysis_report, "fetch_report", fetch)
    with pytest.raises(SystemExit, match="stopped here"):
        cli.main(["analysis", "report", "--out", str(tmp_path / "r"), "--state", str(tmp_path)])
    assert asked == [("http://127.0.0.1:9", "-Xy_token")]
