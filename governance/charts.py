"""Charts for the programme board's pages, drawn on the server as inline SVG.

Why SVG from the server, not a chart library in the browser:
- nothing to fetch from a CDN and no script to run: the chart is in the page as it arrives,
  so it reads the same with scripts off, behind a council proxy, and under a strict CSP;
- it prints: the SVG scales to its container (``viewBox`` and ``width="100%"``, never a
  fixed pixel width), so one chart fits a 375 px phone without scrolling and an A4 page;
- it reads without colour: every chart has a ``<title>`` and ``<desc>`` for screen readers
  (``role="img"``), each state is named in words in a legend and marked with the same shape
  as its status tag, and every fill is the tag's own colour pair, so text on it keeps the
  tag's 4.5:1 contrast. The page shows each chart's figures in a table beside it, so a chart
  need not write every number.

Every text is escaped (``format_html``); coordinates are rounded to one decimal place to keep
the markup small. Presentation is in SVG attributes, so the charts need no stylesheet.
"""

import math
import re
from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from workstreams.models import Rag
from workstreams.templatetags.grip import RAG_CLASSES, TAG_COLOURS

# The shape each tag carries beside its words (grip.scss), as an SVG path drawn in a 10 x 10
# box at the origin: a square, a triangle, a disc, a dash, a ring, a tick.
TAG_MARKERS = {
    "grip-rag--red": ("M1 1h8v8h-8z", "fill"),
    "grip-rag--amber": ("M5 0.5l4.5 9h-9z", "fill"),
    "grip-rag--green": ("M5 1a4 4 0 1 0 0.01 0z", "fill"),
    "grip-rag--grey": ("M0.5 5h9", "stroke"),
    "grip-rag--purple": ("M5 1.5a3.5 3.5 0 1 0 0.01 0z", "stroke"),
    "grip-rag--blue": ("M1 5.5l3 3l5-7", "stroke"),
}

TEXT = "#0b0c0c"  # GOV.UK text colour
SECONDARY = "#505a5f"  # GOV.UK secondary text: axes, outlines, the target line
LINE = "#1d70b8"  # GOV.UK link blue: the trend line and its dots (5.2:1 on white)
FONT = 'font-family="arial, sans-serif" font-size="14"'

WIDTH = 420  # every chart's viewBox width; font sizes are in the same units
CHAR_WIDTH = 7.7  # a generous average width of one 14-unit Arial character

_ID = re.compile(r"[a-z][a-z0-9-]*")


def _n(value: float) -> str:
    """A coordinate, rounded to one decimal place, without a trailing '.0'."""
    return f"{round(value, 1) + 0.0:g}"


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _scale(value: float, lo: float, hi: float, start: float, end: float) -> float:
    """``value`` on the range lo..hi placed on the range start..end (a flat range: its middle)."""
    if hi == lo:
        return (start + end) / 2
    return start + (value - lo) / (hi - lo) * (end - start)


def number(value: Decimal | float) -> str:
    """A number as people write it: at most two decimal places, no trailing zeros."""
    value = Decimal(str(value))
    if value.as_tuple().exponent < -2:
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def _with_unit(value: Decimal | float, unit: str) -> str:
    """As the indicator pages write a measure (the ``measure`` filter): '83%', '12 days', and
    a plain number for no unit or an indicator's "number", so ``unit=indicator.unit`` works."""
    unit = unit.strip()
    if unit in ("", "number"):
        return number(value)
    if unit == "%":
        return f"{number(value)}%"
    return f"{number(value)} {unit}"


def _svg(id: str, title: str, description: str, height: float, body: list[str]) -> SafeString:
    """The chart's ``<svg>``: an image named by its title and described by its description."""
    if not isinstance(id, str) or not _ID.fullmatch(id):
        raise ValueError(f"Chart id {id!r} must be lower-case letters, digits and hyphens.")
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" width="100%" role="img" '
        'aria-labelledby="{}-title {}-desc" {}>'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>',
        WIDTH,
        _n(height),
        id,
        id,
        mark_safe(FONT),
        id,
        title,
        id,
        description,
    )
    return mark_safe(head + "".join(body) + "</svg>")


def _marker(rag: Rag, x: float, y: float) -> str:
    """The tag's shape for ``rag`` in a 10 x 10 box with its top left corner at x, y."""
    css = RAG_CLASSES[rag]
    path, paint = TAG_MARKERS[css]
    colour = TAG_COLOURS[css][0]
    if paint == "fill":
        paint_attrs = format_html('fill="{}"', colour)
    else:
        paint_attrs = format_html(
            'fill="none" stroke="{}" stroke-width="1.8" stroke-linecap="round"', colour
        )
    return format_html(
        '<path transform="translate({} {})" d="{}" {}/>', _n(x), _n(y), path, paint_attrs
    )


# --- BRAG bars --------------------------------------------------------------------------

LABEL_COLUMN = 176  # row labels on the left, then the bars
BAR_LEFT = LABEL_COLUMN + 4
BAR_WIDTH = WIDTH - BAR_LEFT - 4
BAR_HEIGHT = 28
ROW_GAP = 12
SWATCH = 14
LEGEND_ROW = 22


def _row_label(label: str, y: float) -> str:
    """A row's label, cut short with '…' if it would run into the bar; the whole label stays
    in its ``<title>``."""
    room = LABEL_COLUMN - 8
    shown = label
    if _text_width(label) > room:
        shown = label[: max(int(room / CHAR_WIDTH) - 1, 1)].rstrip() + "…"
    return format_html(
        '<g><title>{}</title><text x="0" y="{}" fill="{}">{}</text></g>', label, _n(y), TEXT, shown
    )


def _bar(counts: list[tuple[Rag, int]], top: float) -> list[str]:
    """One row's bar: segments in the order given, together as wide as the whole bar."""
    middle = top + BAR_HEIGHT / 2
    total = sum(count for _, count in counts)
    if total == 0:
        return [
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="{}"/>',
                BAR_LEFT,
                _n(top),
                BAR_WIDTH,
                BAR_HEIGHT,
                SECONDARY,
            ),
            format_html(
                '<text x="{}" y="{}" fill="{}">No actions</text>',
                BAR_LEFT + 8,
                _n(middle + 5),
                TEXT,
            ),
        ]
    parts = []
    done = 0
    for rag, count in counts:
        if count == 0:
            continue
        # Edges from running totals, so rounding never leaves a row short or long.
        left = BAR_LEFT + BAR_WIDTH * done / total
        done += count
        right = BAR_LEFT + BAR_WIDTH * done / total
        left, right = round(left, 1), round(right, 1)
        text_colour, fill = TAG_COLOURS[RAG_CLASSES[rag]]
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}">'
                "<title>{}: {}</title></rect>",
                _n(left),
                _n(top),
                _n(right - left),
                BAR_HEIGHT,
                fill,
                SECONDARY,
                rag.label,
                count,
            )
        )
        # The shape and the count where the segment has room for both, else the count
        # alone, else neither (the legend, the hover title and the table still say it).
        room = right - left - 8
        text_left = left + 4
        if room >= 14 + _text_width(str(count)):
            parts.append(_marker(rag, left + 4, middle - 5))
            text_left += 14
        if room >= _text_width(str(count)):
            parts.append(
                format_html(
                    '<text x="{}" y="{}" fill="{}">{}</text>',
                    _n(text_left),
                    _n(middle + 5),
                    text_colour,
                    count,
                )
            )
    return parts


def _legend(rags: list[Rag], top: float) -> tuple[list[str], float]:
    """A swatch, the tag's shape and the label for each state, wrapped to the chart's width.
    Returns the parts and the height they take."""
    parts = []
    x, y = 0.0, top
    for rag in rags:
        item_width = SWATCH + 6 + _text_width(rag.label) + 16
        if x > 0 and x + item_width > WIDTH:
            x, y = 0.0, y + LEGEND_ROW
        fill = TAG_COLOURS[RAG_CLASSES[rag]][1]
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="{}"/>',
                _n(x),
                _n(y),
                SWATCH,
                SWATCH,
                fill,
                SECONDARY,
            )
        )
        parts.append(_marker(rag, x + 2, y + 2))
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}">{}</text>',
                _n(x + SWATCH + 6),
                _n(y + 12),
                TEXT,
                rag.label,
            )
        )
        x += item_width
    return parts, (y - top + LEGEND_ROW) if rags else 0


def brag_bars(
    *,
    id: str,
    title: str,
    description: str,
    rows: list[tuple[str, list[tuple[Rag, int]]]],
) -> SafeString:
    """Horizontal stacked bars of actions by BRAG state: one bar a row (a workstream, the
    programme), each the whole of its row, so rows of different sizes compare by share.

    ``rows`` is ``[(label, [(Rag, count), ...]), ...]``; segments are drawn in the order
    given. A row with no actions draws an empty outline saying "No actions". A legend below
    names each state that appears.
    """
    for _, counts in rows:
        if any(count < 0 for _, count in counts):
            raise ValueError("A BRAG count cannot be negative.")
    parts = []
    top = 0.0
    for label, counts in rows:
        parts.append(_row_label(label, top + BAR_HEIGHT / 2 + 5))
        parts.extend(_bar(counts, top))
        top += BAR_HEIGHT + ROW_GAP
    if not rows:
        parts.append(format_html('<text x="0" y="18" fill="{}">No actions</text>', TEXT))
        top = BAR_HEIGHT + ROW_GAP
    present = []
    for _, counts in rows:
        for rag, count in counts:
            if count > 0 and rag not in present:
                present.append(rag)
    legend, legend_height = _legend(present, top)
    parts.extend(legend)
    return _svg(id, title, description, top + legend_height, parts)


# --- Trend line -------------------------------------------------------------------------

TREND_HEIGHT = 105  # 4:1
PLOT_LEFT = 56  # room for the scale's ends
PLOT_RIGHT = WIDTH - 64  # room for the last value's label
PLOT_TOP = 10
PLOT_BOTTOM = TREND_HEIGHT - 26  # room for the first and last periods' labels
DOT = 2.5
LAST_DOT = 4.5
HALO = 'paint-order="stroke" stroke="#ffffff" stroke-width="4" stroke-linejoin="round"'


def _y_range(values: list[float], y_min: float | None, y_max: float | None) -> tuple[float, float]:
    """The scale: y_min/y_max where given, else the values' range with a little room round it,
    rounded outwards to a figure worth printing; never from a value to itself."""
    if y_min is not None and y_max is not None and float(y_max) <= float(y_min):
        raise ValueError(f"y_max ({y_max}) must be above y_min ({y_min}).")
    lo = min(values) if y_min is None else float(y_min)
    hi = max(values) if y_max is None else float(y_max)
    # One end given, the values all beyond it: the other end meets it.
    lo, hi = (min(lo, hi), hi) if y_min is None else (lo, max(lo, hi))
    span = hi - lo
    pad = span * 0.1 if span else (abs(hi) * 0.1 or 1.0)
    step = 10 ** math.floor(math.log10(span + 2 * pad)) / 5  # ends at round figures
    if y_min is None:
        lo = math.floor((lo - pad) / step) * step
        if min(values) >= 0:
            lo = max(lo, 0.0)
    if y_max is None:
        hi = math.ceil((hi + pad) / step) * step
    return round(lo, 6), round(hi, 6)


def trend_line(
    *,
    id: str,
    title: str,
    description: str,
    points: list[tuple[str, Decimal | float | None]],
    target: Decimal | float | None = None,
    y_min: float | None = None,
    y_max: float | None = None,
    unit: str = "",
) -> SafeString:
    """A small line chart of a value per period, oldest first, e.g. an indicator's last 12
    months or the workforce's permanent share (``y_min=0, y_max=100, unit="%"``).

    A ``None`` value is a gap: the line breaks there and no dot is drawn. Every value has a
    dot, the latest a larger one with its figure beside it; ``target`` draws a dashed line
    labelled "Target". Only the first and last periods are labelled: the table beside the
    chart has them all.
    """
    values = [float(value) for _, value in points if value is not None]
    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}"/>',
            PLOT_LEFT,
            PLOT_BOTTOM,
            PLOT_RIGHT,
            PLOT_BOTTOM,
            SECONDARY,
        )
    ]
    if points:
        first, last = points[0][0], points[-1][0]
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}" text-anchor="{}">{}</text>',
                PLOT_LEFT if len(points) > 1 else _n((PLOT_LEFT + PLOT_RIGHT) / 2),
                TREND_HEIGHT - 6,
                TEXT,
                "start" if len(points) > 1 else "middle",
                first,
            )
        )
        if len(points) > 1:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" fill="{}" text-anchor="end">{}</text>',
                    PLOT_RIGHT,
                    TREND_HEIGHT - 6,
                    TEXT,
                    last,
                )
            )
    if not values:
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}" text-anchor="middle">No values yet</text>',
                _n((PLOT_LEFT + PLOT_RIGHT) / 2),
                _n((PLOT_TOP + PLOT_BOTTOM) / 2 + 5),
                TEXT,
            )
        )
        return _svg(id, title, description, TREND_HEIGHT, parts)

    lo, hi = _y_range(values + ([float(target)] if target is not None else []), y_min, y_max)

    def x_at(index: int) -> float:
        return _scale(index, 0, len(points) - 1, PLOT_LEFT, PLOT_RIGHT)

    def y_at(value: float) -> float:
        # Clamped, so a value outside a given y_min..y_max stays on the chart's edge.
        return _scale(min(max(value, lo), hi), lo, hi, PLOT_BOTTOM, PLOT_TOP)

    # The scale's two ends, on the left: numbers only (and "%"), since a unit in words
    # ("12.8 days") is wider than the room there; the last value's label carries the unit.
    scale_unit = "%" if unit.strip() == "%" else ""
    for value, y in ((hi, PLOT_TOP + 5), (lo, PLOT_BOTTOM)):
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}" text-anchor="end">{}</text>',
                PLOT_LEFT - 6,
                y,
                SECONDARY,
                _with_unit(value, scale_unit),
            )
        )

    if target is not None:
        y = y_at(float(target))
        parts.append(
            format_html(
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="1.5" '
                'stroke-dasharray="6 4"/>',
                PLOT_LEFT,
                _n(y),
                PLOT_RIGHT,
                _n(y),
                SECONDARY,
            )
        )
        label_y = y - 4 if y - 14 >= PLOT_TOP - 4 else y + 14
        parts.append(
            format_html(
                '<text x="{}" y="{}" fill="{}" {}>Target {}</text>',
                PLOT_LEFT + 4,
                _n(label_y),
                SECONDARY,
                mark_safe(HALO),
                _with_unit(target, unit),
            )
        )

    # The line, broken at every gap: one polyline for each run of values.
    runs, run = [], []
    for index, (_, value) in enumerate(points):
        if value is None:
            runs.append(run)
            run = []
        else:
            run.append(f"{_n(x_at(index))},{_n(y_at(float(value)))}")
    runs.append(run)
    for run in runs:
        if len(run) > 1:
            parts.append(
                format_html(
                    '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" '
                    'stroke-linejoin="round"/>',
                    " ".join(run),
                    LINE,
                )
            )

    latest = max(index for index, (_, value) in enumerate(points) if value is not None)
    for index, (period, value) in enumerate(points):
        if value is None:
            continue
        parts.append(
            format_html(
                '<circle cx="{}" cy="{}" r="{}" fill="{}"><title>{}: {}</title></circle>',
                _n(x_at(index)),
                _n(y_at(float(value))),
                LAST_DOT if index == latest else DOT,
                LINE,
                period,
                _with_unit(value, unit),
            )
        )
    value = points[latest][1]
    parts.append(
        format_html(
            '<text x="{}" y="{}" fill="{}" font-weight="bold" {}>{}</text>',
            _n(x_at(latest) + LAST_DOT + 4),
            _n(y_at(float(value)) + 5),
            TEXT,
            mark_safe(HALO),
            _with_unit(value, unit),
        )
    )
    return _svg(id, title, description, TREND_HEIGHT, parts)
