"""``report.html``: one self-contained page for a quality lead. The plots are drawn by
matplotlib as inline SVG, so the page needs nothing from the network to be read."""

from __future__ import annotations

import html
import io
from collections.abc import Iterable
from typing import Any

from .summary import ID_GROUPS, PSEUDO_CAUSES, Summary

_THASE_RUSH = ("0", "1", "2", "3", "4", "5", "unknown")
_MAUDSLEY_BANDS = ("mild", "moderate", "severe", "unknown")
_COLOR = "#3b6ea5"


def _svg(labels: list[str], values: list[int], title: str, xlabel: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(5.2, 3.0), dpi=100)
    try:
        bars = axes.bar(labels, values, color=_COLOR)
        axes.bar_label(bars, fontsize=8)
        axes.set_title(title, fontsize=10)
        axes.set_xlabel(xlabel, fontsize=9)
        axes.set_ylabel("patients", fontsize=9)
        axes.tick_params(labelsize=8)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    finally:
        plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue and DOCTYPE: inline in HTML


def _roman(stage: str) -> str:
    return {"0": "0", "1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}.get(stage, stage)


def _table(header: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or _empty(len(header))}</tbody></table>"


def _empty(columns: int) -> str:
    return f'<tr><td colspan="{columns}">none</td></tr>'


def _plot(name: str, svg: str) -> str:
    return f'<figure class="plot" data-plot="{name}">{svg}</figure>'


_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 64em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: .2em .8em; text-align: left;
border-bottom: 1px solid #eee; } th { background: #f4f6f8; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; }
.kpi { display: flex; gap: 1.5em; flex-wrap: wrap; } .kpi div { background: #f4f6f8; padding: .6em 1em; }
.kpi b { display: block; font-size: 1.4em; } .note { color: #555; font-size: .9em; }
"""

# Counted once the page is laid out: each plot's SVG has a size and drawn marks. A headless
# browser reads the count from the DOM.
_SCRIPT = """
window.addEventListener("load", function () {
  var drawn = 0;
  document.querySelectorAll("figure.plot svg").forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    if (box.width > 0 && box.height > 0 && svg.querySelectorAll("path").length > 0) drawn++;
  });
  document.body.setAttribute("data-plots-rendered", String(drawn));
});
"""


def render(summary: Summary, run: dict[str, Any], include_ids: bool) -> str:
    s = summary
    status_rows = sorted(s.trd_status.items(), key=lambda kv: -kv[1])
    stages = [st for st in _THASE_RUSH if s.thase_rush.get(st)] or ["unknown"]
    bands = [b for b in _MAUDSLEY_BANDS if s.maudsley_band.get(b)] or ["unknown"]
    scores = sorted(s.maudsley_scores)
    plots = [
        _plot("trd-status", _svg([k for k, _ in status_rows] or ["none"],
                                 [v for _, v in status_rows] or [0], "TRD status", "status")),
        _plot("thase-rush", _svg([_roman(st) for st in stages],
                                 [s.thase_rush.get(st, 0) for st in stages],
                                 "Thase-Rush stage", "stage")),
        _plot("maudsley-band", _svg(bands, [s.maudsley_band.get(b, 0) for b in bands],
                                    "Maudsley band", "band")),
        _plot("maudsley-score", _svg([str(x) for x in scores] or ["none"],
                                     [s.maudsley_scores[x] for x in scores] or [0],
                                     "Maudsley score (where all inputs are known)", "score")),
    ]
    kpis = [
        ("patients", s.patients),
        ("TRD met", f"{s.trd_status.get('met', 0)} ({s.rate(s.trd_status.get('met', 0))})"),
        ("pseudo-resistant", f"{s.pseudo_resistance} ({s.rate(s.pseudo_resistance)})"),
        ("crisis flag", f"{s.crisis} ({s.rate(s.crisis)})"),
        ("not evaluable", sum(s.errors.values())),
    ]
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<title>TRD population screen</title>",
        f"<style>{_STYLE}</style><script>{_SCRIPT}</script></head><body>",
        "<h1>TRD population screen</h1>",
        f'<p class="note">Evaluation date {html.escape(str(run.get("asOf")))}, ruleset '
        f'{html.escape(str(run.get("rulesetVersion")))}. Rates are of the patients evaluated.</p>',
        '<div class="kpi">' + "".join(f"<div><b>{html.escape(str(v))}</b>{html.escape(k)}</div>"
                                     for k, v in kpis) + "</div>",
        "<h2>TRD status</h2>",
        _table(("status", "patients", "rate"), ((k, v, s.rate(v)) for k, v in status_rows)),
        "<h2>Pseudo-resistance by cause</h2>",
        '<p class="note">Pseudo-resistant patients whose current-episode trials carry each flag '
        "(a patient can have several).</p>",
        _table(("cause", "patients", "of pseudo-resistant"),
               ((c, s.pseudo_causes.get(c, 0),
                 f"{100 * s.pseudo_causes.get(c, 0) / s.pseudo_resistance:.1f} %"
                 if s.pseudo_resistance else "-") for c in PSEUDO_CAUSES)),
        "<h2>Suggestions</h2>",
        _table(("suggestion", "patients", "rate"),
               ((k, v, s.rate(v)) for k, v in s.suggestions.most_common())),
        "<h2>Safety rules fired</h2>",
        _table(("rule", "patients", "rate"), ((k, v, s.rate(v)) for k, v in s.safety.most_common())),
        "<h2>Staging</h2>",
        f'<div class="plots">{"".join(plots)}</div>',
        "<h2>Data quality</h2>",
        f"<p>{s.patients_with_findings} patients ({s.rate(s.patients_with_findings)}) have records "
        "the rules could not fully use.</p>",
        _table(("issue", "effect", "findings"),
               ((i, e, n) for (i, e), n in s.data_quality.most_common())),
        "<h2>Not evaluable</h2>",
        _table(("reason", "patients"), s.errors.most_common()),
        "<h2>Input records not used</h2>",
        _table(("issue", "resource type", "records"),
               ((i, k or "-", n) for (i, k), n in s.input_issues.most_common())),
    ]
    if include_ids:
        parts.append("<h2>Patients by group</h2>")
        parts.append(_table(("group", "patients"),
                            ((g, " ".join(s.ids[g]) or "-") for g in ID_GROUPS)))
    parts.append("</body></html>")
    return "\n".join(parts)
