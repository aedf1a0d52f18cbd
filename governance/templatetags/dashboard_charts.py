"""The dashboard's charts (``governance.charts``), each described in words for a screen
reader; the page shows each chart's figures in a table beside it too."""

from django import template

from workstreams.models import Rag
from workstreams.templatetags.grip import measure

from .. import charts

register = template.Library()


def _rag_words(counts) -> str:
    named = [f"{cell.count} {cell.rag.label.lower()}" for cell in counts if cell.count]
    return ", ".join(named) or "no actions"


@register.simple_tag
def delivery_chart(board):
    """Actions by BRAG, a bar per workstream and one for the programme."""
    rows = [
        (row.workstream.name, [(cell.rag, cell.count) for cell in row.rag.counts])
        for row in board.delivery
    ]
    rows.append(("Programme", [(cell.rag, cell.count) for cell in board.programme.rag.counts]))
    return charts.brag_bars(
        id="delivery-chart",
        title=f"Actions by status, judged on {board.judged_on:%-d %B %Y}",
        description=f"Programme: {_rag_words(board.programme.rag.counts)}, "
        f"of {board.programme.rag.total} actions.",
        rows=rows,
    )


@register.simple_tag
def indicator_chart(row, number):
    """An indicator's values over the last twelve months, against its target."""
    indicator = row.indicator
    latest = (
        f"latest {measure(row.latest_value, indicator)} in {row.latest_period:%B %Y}"
        if row.latest_value is not None
        else "no values yet"
    )
    rag = f", {Rag(row.rag).label.lower()}" if row.rag else ""
    return charts.trend_line(
        id=f"indicator-chart-{number}",
        title=f"{indicator.name}: the last {len(row.trend)} months",
        description=f"{latest}{rag}; target {measure(indicator.target, indicator)}, "
        f"{'higher' if indicator.higher_is_better else 'lower'} is better.",
        points=[(f"{period:%b %Y}", value) for period, value in row.trend],
        target=indicator.target,
        unit=indicator.unit,
        y_min=0 if indicator.unit == "%" else None,
        y_max=100 if indicator.unit == "%" else None,
    )


@register.simple_tag
def workforce_chart(workforce):
    """The share of permanent managers on each date of the managers table."""
    shares = "; ".join(f"{day:%-d %B %Y}: {share}%" for day, share in workforce.trend)
    return charts.trend_line(
        id="workforce-chart",
        title="Permanent (salaried) managers as a share of all managers",
        description=shares or "No managers table yet.",
        points=[(f"{day:%b %Y}", share) for day, share in workforce.trend],
        unit="%",
        y_min=0,
        y_max=100,
    )
