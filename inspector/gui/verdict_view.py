"""The security part of the summary page: the verdict banner and its evidence, per
stream the loader would read, each call it would make with its constant arguments."""

from __future__ import annotations

import html

BANNER = {
    "dangerous": "#c62828",
    "unverified": "#b26a00",
    "needs-code": "#e65100",
    "safe": "#2e7d32",
    "unreadable": "#b26a00",
}
CATEGORY_COLORS = {"dangerous": "#c62828", "needs-code": "#e65100", "reference": "#1565c0", "data": "#2e7d32"}
VERDICT_TEXT = {
    "dangerous": "DANGEROUS - loading this file would run code or reach files, processes or "
    "the network. It is open inspect-only; nothing in it is ever executed here.",
    "unverified": "Cannot vouch for this file - part of what a loader would read could not be "
    "judged (listed below). Treat it as unsafe; it is never loaded on trust.",
    "needs-code": "Needs code - loading it normally would import and run code outside the "
    "data allowlist (listed below).",
    "safe": "Safe - every stream parsed to the end; only data the loader rebuilds without running code.",
    "unreadable": "The security scan could not read this file.",
}


def banner_html(v) -> str:
    color = BANNER.get(v.verdict, "#555")
    return (
        f"<p style='background:{color};color:white;padding:6px;font-weight:bold'>"
        f"{html.escape(VERDICT_TEXT.get(v.verdict, v.verdict))}</p>"
    )


def evidence_html(v, max_rows: int = 60) -> str:
    e = html.escape
    out = []
    if v.flags:
        out.append(
            "<h3>Red flags</h3><ul>"
            + "".join(f"<li style='color:#c62828'>{e(x)}</li>" for x in v.flags[:40])
            + "</ul>"
        )
    if v.unvouched:
        out.append(
            "<h3>Could not be judged</h3><ul>"
            + "".join(f"<li style='color:#b26a00'>{e(x)}</li>" for x in v.unvouched[:40])
            + "</ul>"
        )
    order = {"dangerous": 0, "needs-code": 1, "reference": 2, "data": 3}
    shown = 0
    for s in v.streams:
        rows = sorted(s.rows, key=lambda r: order.get(r.category, 9))
        if not rows and s.complete:
            continue
        state = "parsed to the end" if s.complete else f"not parsed to the end ({s.error})"
        reach = "" if s.reached else " — bytes the loader does not reach"
        out.append(
            f"<h3>{e(s.stream or 'the file')}</h3><p style='color:#555'>read by "
            f"<code>{e(s.loader)}</code>, {e(state)}{e(reach)}</p>"
        )
        if not rows:
            continue
        out.append(
            "<table cellspacing='0' cellpadding='2'><tr><th align='left'>judged</th>"
            "<th align='left'>what loading it does</th><th>times</th>"
            "<th align='left'>why</th></tr>"
        )
        for r in rows:
            if shown >= max_rows:
                break
            shown += 1
            c = CATEGORY_COLORS.get(r.category, "#333")
            out.append(
                f"<tr><td style='color:{c}'>{e(r.category)}</td><td><code>{e(r.text)}</code></td>"
                f"<td align='right'>{r.count}</td><td>{e(r.reason)}</td></tr>"
            )
        out.append("</table>")
    if v.modules:
        out.append(
            "<p><b>Loading it for real imports:</b> "
            + ", ".join(f"<code>{e(m)}</code>" for m in v.modules[:40])
            + "</p>"
        )
    return "\n".join(out)
