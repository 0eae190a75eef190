"""Figures -> a directory a person opens: `index.html` (self-contained: charts as inline SVG from matplotlib, drawn
offline with the SVG backend, each with a text alternative and its table below it; the headline numbers first) and
one CSV per table with exactly the published (suppressed) figures. Renders only what `figures` published: nothing
here can un-suppress a count.
"""

from __future__ import annotations

import csv
import html
import io
import math
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import matplotlib

matplotlib.use("svg")  # offline, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

from .figures import Figures, Table  # noqa: E402
from .suppression import SUPPRESSED  # noqa: E402

# The Government Analysis Function's categorical palette (chosen to be told apart with colour vision deficiency and
# in greyscale, in this order), and its dark blue for single-series charts.
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
TEXT = "#0b0c0c"

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # text stays text: selectable, searchable, read by screen readers
        "svg.hashsalt": "mash-report",  # stable ids, so the same figures give the same file
        "font.family": "sans-serif",
        "font.size": 10,
        "axes.edgecolor": "#b1b4b6",
        "axes.labelcolor": TEXT,
        "xtick.color": TEXT,
        "ytick.color": TEXT,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def report_files(figures: Figures) -> dict[str, str]:
    """The report as named files: one CSV per table and index.html (what `GET /report` sends)."""
    return {**{f"{t.name}.csv": table_csv(t) for t in figures.tables}, "index.html": render_html(figures)}


def write_report(figures: Figures, out_dir: Path | str) -> Path:
    """Write index.html and the CSVs; returns the HTML's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in report_files(figures).items():
        (out / name).write_text(text, encoding="utf-8")
    return out / "index.html"


def table_csv(t: Table) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    for row in table_grid(t):
        w.writerow(row)
    return buf.getvalue()


def table_grid(t: Table) -> list[list[str]]:
    """The table as published, header first: the same strings in the CSV and the HTML."""
    header = (
        [t.row_label, *t.columns]
        + (["total"] if t.row_totals is not None else [])
        + ([_fmt(t.rate_label)] if t.rates is not None else [])
    )
    rows = [header]
    for i, label in enumerate(t.rows):
        row = [label, *(_fmt(v) for v in t.cells[i])]
        if t.row_totals is not None:
            row.append(_fmt(t.row_totals[i]))
        if t.rates is not None:
            row.append(_fmt(t.rates[i]))
        rows.append(row)
    if t.column_totals is not None:
        row = ["total", *(_fmt(v) for v in t.column_totals)]
        if t.row_totals is not None:
            row.append(_fmt(t.total))
        if t.rates is not None:
            row.append(_fmt(t.total_rate))
        rows.append(row)
    return rows


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def _count(v) -> str:
    return f"{v:,}" if isinstance(v, int) else _fmt(v)


def _num(v) -> float | None:
    """A published value as a number for a chart; a suppressed one is not drawn."""
    return None if v in (SUPPRESSED, None) else float(v)


def _plotted(values: Iterable[float | None]) -> list[float]:
    """A line's values: one not drawn is NaN, a gap in the line (what matplotlib makes of None)."""
    return [math.nan if v is None else v for v in values]


V = TypeVar("V")


def _given(t: Table, values: list[V] | None, what: str) -> list[V]:
    """The margin or the rates a chart is drawn from: figures.py builds every charted table with them."""
    if values is None:
        raise ValueError(f"table {t.name} has no {what} to chart")
    return values


# -- charts ---------------------------------------------------------------------------------------------------------


def _svg(fig, title: str, desc: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})  # the same figures, the same file
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: the SVG is inline in the HTML
    head_end = svg.index(">") + 1
    tid = f"chart{zlib.crc32(title.encode()):08x}"
    return (
        svg[:head_end].replace("<svg", f'<svg role="img" aria-labelledby="{tid} {tid}d"', 1)
        + f'<title id="{tid}">{html.escape(title)}</title><desc id="{tid}d">{html.escape(desc)}</desc>'
        + svg[head_end:]
    )


def _hbar(labels: list[str], values: list, xlabel: str, percent: bool = False, colour: str = PALETTE[0]):
    pairs = [(lab, _num(v)) for lab, v in zip(labels, values)]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(pairs) + 0.9))
    ys = range(len(pairs))[::-1]
    ax.barh(list(ys), [v or 0 for _, v in pairs], color=colour)
    ax.set_yticks(list(ys), [lab for lab, _ in pairs])
    top = max([v or 0 for _, v in pairs] + [1])
    for y, (_, v) in zip(ys, pairs):
        ax.text(
            (v or 0) + top * 0.01,
            y,
            "c" if v is None else (f"{v:.1f}%" if percent else f"{v:,.0f}"),
            va="center",
            fontsize=9,
            color=TEXT,
        )
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, top * 1.15)
    return fig


def _describe_top(labels: list[str], values: list, unit: str, n: int = 3) -> str:
    shown = sorted([(v, lab) for lab, v in zip(labels, values) if _num(v) is not None], reverse=True)[:n]
    hidden = sum(1 for v in values if v == SUPPRESSED)
    text = "; ".join(f"{lab}: {v:,.1f}{unit}" if unit == "%" else f"{lab}: {v:,}{unit}" for v, lab in shown) or "none shown"
    return f"Largest: {text}." + (f" {hidden} value(s) suppressed (c)." if hidden else "")


def _chart_monthly_contacts(f: Figures) -> tuple[str, str]:
    t = f.table("contacts_by_month_and_source")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    row_totals = _given(t, t.row_totals, "row totals")
    totals = [_num(v) for v in row_totals]
    ax.bar(t.rows, [v or 0 for v in totals], color=PALETTE[0], label="all sources")
    si = t.columns.index("Schools and education") if "Schools and education" in t.columns else None
    if si is not None:
        ax.plot(t.rows, _plotted(_num(r[si]) for r in t.cells), color=PALETTE[3], marker="o", label="from schools and education")
    ax.set_ylabel("contacts")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=2)
    desc = (
        f"Bar chart of contacts received each month, {t.rows[0]} to {t.rows[-1]}, {_count(t.total)} in all. "
        + _describe_top(t.rows, row_totals, "", 1).replace("Largest", "Most")
        + " A line shows contacts from schools, "
        "which fall in the school holidays."
    )
    return _svg(fig, "Contacts received each month", desc), desc


def _chart_sources(f: Figures) -> tuple[str, str]:
    t = f.table("contacts_by_month_and_source")
    column_totals = _given(t, t.column_totals, "column totals")
    fig = _hbar(t.columns, column_totals, "contacts in the period")
    desc = "Horizontal bar chart of contacts by source over the period. " + _describe_top(t.columns, column_totals, "")
    return _svg(fig, "Contacts by source", desc), desc


def _chart_categories(f: Figures) -> tuple[str, str]:
    t = f.table("contacts_by_concern_category")
    row_totals = _given(t, t.row_totals, "row totals")
    order = sorted(range(len(t.rows)), key=lambda i: -(_num(row_totals[i]) or 0))
    labels, values = [t.rows[i] for i in order], [row_totals[i] for i in order]
    fig = _hbar(labels, values, "contacts naming the concern", colour=PALETTE[1])
    desc = "Horizontal bar chart of the concerns contacts named, most often first. " + _describe_top(labels, values, "")
    return _svg(fig, "Concerns named", desc), desc


def _chart_levels_outcomes(f: Figures) -> tuple[str, str]:
    lv, oc = f.table("contacts_by_level"), f.table("contacts_by_outcome")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
    for ax, t, colour in ((a, lv, PALETTE[0]), (b, oc, PALETTE[2])):
        vals = [_num(r[0]) for r in t.cells]
        ys = list(range(len(t.rows)))[::-1]
        ax.barh(ys, [v or 0 for v in vals], color=colour)
        ax.set_yticks(ys, t.rows)
        for y, v in zip(ys, vals):
            ax.text(v or 0, y, " c" if v is None else f" {v:,.0f}", va="center", fontsize=9)
        ax.set_xlabel("contacts")
    a.set_title("level of need", fontsize=10, loc="left")
    b.set_title("outcome", fontsize=10, loc="left")
    desc = (
        "Two horizontal bar charts: contacts by the level of need decided, and by outcome. "
        + _describe_top(lv.rows, [r[0] for r in lv.cells], "")
        + " "
        + _describe_top(oc.rows, [r[0] for r in oc.cells], "")
    )
    return _svg(fig, "Levels of need and outcomes", desc), desc


def _chart_conversion(f: Figures) -> tuple[str, str]:
    t = f.table("contacts_that_became_referrals")
    rates = _given(t, t.rates, "rates")
    fig = _hbar(t.rows, rates, "% of contacts that became referrals", percent=True, colour=PALETTE[2])
    desc = (
        f"Horizontal bar chart of the share of each source's contacts that became referrals to children's social "
        f"care; {_fmt(t.total_rate)}% overall. " + _describe_top(t.rows, rates, "%")
    )
    return _svg(fig, "Contacts that became referrals, by source", desc), desc


def _chart_timeliness(f: Figures) -> tuple[str, str]:
    d, r = f.table("decisions_within_one_working_day"), f.table("desk_returns_within_rag_deadline")
    d_rates, r_rates = _given(d, d.rates, "rates"), _given(r, r.rates, "rates")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.4))
    a.plot(d.rows, _plotted(_num(v) for v in d_rates), color=PALETTE[0], marker="o")
    a.set_ylim(0, 100)
    a.set_ylabel("% decided within one working day")
    a.tick_params(axis="x", rotation=45)
    desks = list(dict.fromkeys(row.split(", ")[0] for row in r.rows))
    rags = ["red", "amber", "green", "blue"]
    width = 0.8 / len(rags)
    for k, rag in enumerate(rags):
        vals = [next((_num(r_rates[i]) for i, row in enumerate(r.rows) if row == f"{desk}, {rag}"), None) for desk in desks]
        b.bar(
            [x + k * width for x in range(len(desks))], [v or 0 for v in vals], width, color=PALETTE[k % len(PALETTE)], label=rag
        )
    b.set_xticks([x + width * 1.5 for x in range(len(desks))], [d.replace(" ", "\n", 1) for d in desks])
    b.set_ylim(0, 100)
    b.set_ylabel("% of returns within the RAG deadline")
    b.legend(frameon=False, ncols=4, loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, title="RAG rating", title_fontsize=8)
    desc = (
        f"Left, a line chart of the share of contacts decided within one working day by month received, "
        f"{_fmt(d.total_rate)}% over the period. Right, grouped bars of the share of each desk's returns within the "
        f"deadline for the referral's RAG rating, {_fmt(r.total_rate)}% over all. " + _describe_top(r.rows, r_rates, "%")
    )
    return _svg(fig, "Timeliness against the deadlines", desc), desc


def _chart_re_referrals(f: Figures) -> tuple[str, str]:
    t = f.table("re_referrals_within_12_months")
    rates = _given(t, t.rates, "rates")
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(t.rows, _plotted(_num(v) for v in rates), color=PALETTE[2], marker="o")
    ax.set_ylabel("re-referral rate %")
    ax.set_ylim(0, max([_num(v) or 0 for v in rates] + [10]) * 1.25)
    ax.tick_params(axis="x", rotation=45)
    desc = (
        f"Line chart of the re-referral rate by month: referrals of children referred in the previous 12 months, "
        f"{_fmt(t.total_rate)}% over the period (the look-back is the hub's own history, so early months read low)."
    )
    return _svg(fig, "Re-referrals within 12 months", desc), desc


def _chart_findings(f: Figures) -> tuple[str, str] | None:
    t = f.table("repeat_concern_findings")
    if not t.rows:
        return None
    row_totals = _given(t, t.row_totals, "row totals")
    fig = _hbar(t.rows, row_totals, "findings raised", colour=PALETTE[3])
    desc = "Horizontal bar chart of repeat-concern findings raised by the hub's research, by kind. " + _describe_top(
        t.rows, row_totals, ""
    )
    return _svg(fig, "Repeat-concern findings", desc), desc


def _chart_adult_types(f: Figures) -> tuple[str, str]:
    t = f.table("adults_by_type_of_risk")
    values = [r[0] for r in t.cells]
    fig = _hbar(t.rows, values, "adults' concerns naming it", colour=PALETTE[1])
    desc = (
        "Horizontal bar chart of adults at risk's concerns by type of risk, the Care Act statutory guidance's ten "
        "categories in its order (a concern can name several). " + _describe_top(t.rows, values, "")
    )
    return _svg(fig, "Adults at risk: type of risk", desc), desc


def _chart_adult_source(f: Figures) -> tuple[str, str]:
    t = f.table("adults_by_source_of_risk")
    values = [r[0] for r in t.cells]
    fig = _hbar(t.rows, values, "adults' concerns", colour=PALETTE[0])
    desc = "Horizontal bar chart of adults at risk's concerns by source of risk, as the referrer gave it. " + _describe_top(
        t.rows, values, ""
    )
    return _svg(fig, "Adults at risk: source of risk", desc), desc


def _chart_adult_location(f: Figures) -> tuple[str, str]:
    t = f.table("adults_by_location_of_risk")
    values = [r[0] for r in t.cells]
    fig = _hbar(t.rows, values, "adults' concerns", colour=PALETTE[2])
    desc = "Horizontal bar chart of adults at risk's concerns by location of risk, as the referrer gave it. " + _describe_top(
        t.rows, values, ""
    )
    return _svg(fig, "Adults at risk: location of risk", desc), desc


CHARTS = {  # table -> the chart drawn from it
    "contacts_by_month_and_source": (_chart_monthly_contacts, _chart_sources),
    "contacts_by_concern_category": (_chart_categories,),
    "contacts_by_outcome": (_chart_levels_outcomes,),
    "contacts_that_became_referrals": (_chart_conversion,),
    "desk_returns_within_rag_deadline": (_chart_timeliness,),
    "re_referrals_within_12_months": (_chart_re_referrals,),
    "repeat_concern_findings": (_chart_findings,),
    "adults_by_type_of_risk": (_chart_adult_types,),
    "adults_by_source_of_risk": (_chart_adult_source,),
    "adults_by_location_of_risk": (_chart_adult_location,),
}
ADULTS_INTRO = (
    "Contacts about an adult at risk with no child (a mixed household's adults' referral among them), decided under "
    "the Care Act 2014 s42 and broken down as the NHS Safeguarding Adults Collection does: the concerns raised and the "
    "enquiries they started, the type, source and location of risk, and who took each concern forward. The same "
    "contacts are in the tables above, and a count hidden here is hidden there too."
)


# -- the page -------------------------------------------------------------------------------------------------------

CSS = """
body{font-family:"GDS Transport",Arial,sans-serif;color:#0b0c0c;margin:0;background:#fff;line-height:1.4}
header{background:#0b0c0c;color:#fff;padding:16px 30px;border-bottom:10px solid #1d70b8}
header h1{margin:0;font-size:1.8em} header p{margin:4px 0 0}
main{max-width:1100px;margin:0 auto;padding:20px 30px}
.headline{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;margin:10px 0 30px}
.card{border-left:6px solid #1d70b8;background:#f3f2f1;padding:12px 14px}
.card .n{font-size:2.2em;font-weight:700;display:block} .card .l{font-weight:700} .card .d{font-size:.9em;color:#484949}
section{margin:34px 0;border-top:2px solid #b1b4b6;padding-top:8px}
h2{font-size:1.4em} figure{margin:0} figcaption{color:#484949;font-size:.95em;margin:6px 0}
table{border-collapse:collapse;font-size:.85em;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #b1b4b6;padding:4px 8px;text-align:right} th:first-child,td:first-child{text-align:left}
thead th{border-bottom:2px solid #0b0c0c} tr.total td{font-weight:700}
details summary{cursor:pointer;color:#1d70b8;text-decoration:underline}
.note{color:#484949;font-size:.9em} a{color:#1d70b8}
"""


def render_html(f: Figures) -> str:
    parts = [
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>MASH commissioning and oversight report, '
        f'{f.period_start} to {f.period_end}</title><meta name="viewport" content="width=device-width"><style>{CSS}</style></head><body>',
        f"<header><h1>Multi-Agency Safeguarding Hub: commissioning and oversight</h1>"
        f"<p>Contacts received {html.escape(f.period_start)} to {html.escape(f.period_end)}. Aggregates only; small numbers suppressed (c).</p></header><main>",
        '<h2 id="summary">Summary</h2><div class="headline">',
    ]
    for h in f.headline:
        value = _fmt(h.value) + ("%" if h.unit == "%" and h.value not in (SUPPRESSED, None) else "")
        if h.unit == "count" and isinstance(h.value, int):
            value = f"{h.value:,}"
        parts.append(
            f'<div class="card"><span class="l">{html.escape(h.label)}</span><span class="n">{html.escape(value)}</span>'
            f'<span class="d">{html.escape(h.detail)}</span></div>'
        )
    parts.append("</div>")
    adults = next((t.name for t in f.tables if t.name.startswith("adults_")), None)
    for t in f.tables:
        if t.name == adults:  # the adults' tables come last, under a heading of their own
            parts.append(f'<h2 id="adults_at_risk">Adults at risk</h2><p class="note">{html.escape(ADULTS_INTRO)}</p>')
        parts.append(f'<section id="{t.name}"><h2>{html.escape(t.title)}</h2>')
        for draw in CHARTS.get(t.name, ()):
            drawn = draw(f)
            if drawn:
                svg, desc = drawn
                parts.append(f"<figure>{svg}<figcaption>{html.escape(desc)}</figcaption></figure>")
        if t.note:
            parts.append(f'<p class="note">{html.escape(t.note)}</p>')
        big = len(t.rows) > 30
        parts.append(
            f"<details{'' if big else ' open'}><summary>Table: {html.escape(t.title)} ({html.escape(t.unit)}; "
            f'<a href="{t.name}.csv">{t.name}.csv</a>)</summary>{_table_html(t)}</details></section>'
        )
    parts.append(
        "<section><h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in f.notes) + "</ul>"
        f'<p class="note">Generated {html.escape(f.generated_at)}. Charts drawn with matplotlib {matplotlib.__version__}.</p>'
        "</section></main></body></html>"
    )
    return "".join(parts)


def _table_html(t: Table) -> str:
    grid = table_grid(t)
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in grid[0])
    body = []
    for i, row in enumerate(grid[1:]):
        total = t.column_totals is not None and i == len(grid) - 2
        cells = f'<th scope="row">{html.escape(row[0])}</th>' + "".join(f"<td>{html.escape(c)}</td>" for c in row[1:])
        body.append(('<tr class="total">' if total else "<tr>") + cells + "</tr>")
    return f'<table data-table="{t.name}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
