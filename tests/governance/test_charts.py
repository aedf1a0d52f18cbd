"""The programme board's SVG charts: well-formed, named for screen readers, escaped, and
drawn to scale. No database: the charts take plain figures."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils.safestring import SafeString

from governance.charts import TAG_COLOURS, brag_bars, number, trend_line
from workstreams.models import Rag
from workstreams.templatetags.grip import RAG_CLASSES

SVG = "{http://www.w3.org/2000/svg}"
NASTY = '<script>alert(1)</script>&"'


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    """What the chart writes on itself (not the hover titles)."""
    return [element.text for element in root.iter(f"{SVG}text")]


def segments(root: ET.Element) -> list[ET.Element]:
    """The bar segments: the rects that carry a hover title (swatches and outlines don't)."""
    return [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]


def row_labels(root: ET.Element) -> list[tuple[str, str]]:
    """Each row's label: (the whole label in its hover title, the label as shown)."""
    return [
        (group.find(f"{SVG}title").text, group.find(f"{SVG}text").text)
        for group in root.iter(f"{SVG}g")
    ]


def bars(rows) -> ET.Element:
    return parse(brag_bars(id="brag", title="Actions", description="By status", rows=rows))


def trend(points, **kwargs) -> ET.Element:
    svg = trend_line(id="trend", title="Trend", description="By month", points=points, **kwargs)
    return parse(svg)


def months(*values):
    return [(f"Month {n}", value) for n, value in enumerate(values, start=1)]


def dashed_lines(root: ET.Element) -> list[ET.Element]:
    return [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two '#rrggbb' colours."""

    def luminance(colour):
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


CHARTS = [
    lambda **names: brag_bars(**names, rows=[("Programme", [(Rag.RED, 1), (Rag.GREEN, 2)])]),
    lambda **names: trend_line(**names, points=months(Decimal("80"), Decimal("83"))),
]


@pytest.mark.parametrize("chart", CHARTS, ids=["brag_bars", "trend_line"])
def test_a_chart_is_an_image_named_by_its_title_and_description(chart):
    svg = chart(id="board-chart", title="Actions by status", description="3 actions, 1 off track")

    assert isinstance(svg, SafeString)
    root = parse(svg)
    assert root.get("role") == "img"
    by_id = {element.get("id"): element for element in root.iter() if element.get("id")}
    title_id, desc_id = root.get("aria-labelledby").split()
    assert by_id[title_id].tag == f"{SVG}title"
    assert by_id[title_id].text == "Actions by status"
    assert by_id[desc_id].tag == f"{SVG}desc"
    assert by_id[desc_id].text == "3 actions, 1 off track"
    # Ids come from the chart's own, so two charts on a page never share one.
    assert {title_id, desc_id} == {"board-chart-title", "board-chart-desc"}
    # Scales to its container: a view box, the full width, no fixed size.
    assert root.get("width") == "100%"
    assert root.get("height") is None
    assert len(root.get("viewBox").split()) == 4


@pytest.mark.parametrize("chart", CHARTS, ids=["brag_bars", "trend_line"])
@pytest.mark.parametrize("bad_id", ["", "1st", "Board", "board chart", "board\n", 'a"b', "a_b"])
def test_a_chart_refuses_an_id_that_is_not_lower_case_letters_digits_and_hyphens(chart, bad_id):
    with pytest.raises(ValueError):
        chart(id=bad_id, title="Title", description="Description")


def test_every_text_is_escaped():
    root = parse(
        brag_bars(
            id="brag",
            title=NASTY,
            description=NASTY,
            rows=[(NASTY, [(Rag.RED, 1)])],
        )
    )

    assert not [element for element in root.iter() if "script" in element.tag]
    assert root.find(f"{SVG}title").text == NASTY
    assert root.find(f"{SVG}desc").text == NASTY
    ((whole, shown),) = row_labels(root)
    assert whole == NASTY
    assert shown.startswith("<script>")  # cut short, as text

    root = trend([("Month 1", 2), (NASTY, 3)], unit=NASTY)
    assert not [element for element in root.iter() if "script" in element.tag]
    assert NASTY in texts(root)  # the last period's label
    assert f"3 {NASTY}" in texts(root)  # the last value with its unit


def test_a_segment_is_as_wide_as_its_share_of_its_row():
    root = bars(
        [
            ("Management & Practice", [(Rag.RED, 1), (Rag.GREEN, 3)]),
            ("Programme", [(Rag.AMBER, 2), (Rag.BLUE, 5), (Rag.CLOSED, 7)]),
        ]
    )

    first, second, *others = segments(root)
    assert [s.find(f"{SVG}title").text for s in (first, second)] == ["Off track: 1", "On track: 3"]
    assert float(second.get("width")) == pytest.approx(3 * float(first.get("width")), abs=0.2)
    # The segments sit end to end...
    first_end = float(first.get("x")) + float(first.get("width"))
    assert float(second.get("x")) == pytest.approx(first_end)
    # ...and each row fills the same width, however many actions it has.
    assert len(others) == 3
    row_widths = [sum(float(s.get("width")) for s in row) for row in ([first, second], others)]
    assert row_widths[0] == pytest.approx(row_widths[1], abs=0.01)
    assert [float(s.get("width")) for s in others] == pytest.approx(
        [row_widths[1] * n / 14 for n in (2, 5, 7)], abs=0.1
    )


def test_a_segment_is_filled_with_its_tag_colour_and_written_on_legibly():
    root = bars([("Programme", [(rag, 50) for rag in Rag])])

    drawn = segments(root)
    assert len(drawn) == len(Rag)
    for rag, rect in zip(Rag, drawn, strict=True):
        text_colour, fill = TAG_COLOURS[RAG_CLASSES[rag]]
        assert rect.get("fill") == fill
        assert contrast(text_colour, fill) >= 4.5
    counts = [t for t in root.iter(f"{SVG}text") if t.text == "50"]
    assert {t.get("fill") for t in counts} == {colour for colour, _ in TAG_COLOURS.values()}


def test_the_chart_colours_are_the_compiled_tag_colours():
    css = (Path(settings.BASE_DIR) / "static/govuk/css/grip.css").read_text()
    compiled = {
        name: (text, background)
        for name, text, background in re.findall(
            r"\.(grip-rag--[a-z]+)\{color:(#[0-9a-f]{6});background-color:(#[0-9a-f]{6})\}", css
        )
    }

    assert compiled == TAG_COLOURS


def test_a_count_is_written_only_in_a_segment_wide_enough_for_it():
    root = bars([("Programme", [(Rag.RED, 1), (Rag.GREEN, 99)])])

    assert "99" in texts(root)
    assert "1" not in texts(root)
    # The narrow segment still names itself on hover.
    assert segments(root)[0].find(f"{SVG}title").text == "Off track: 1"


def test_a_row_with_no_actions_draws_an_outline_that_says_so():
    root = bars([("Workforce", [(Rag.RED, 0), (Rag.GREEN, 0)]), ("Programme", [(Rag.RED, 2)])])

    assert texts(root).count("No actions") == 1
    assert [s.find(f"{SVG}title").text for s in segments(root)] == ["Off track: 2"]
    outlines = [r for r in root.iter(f"{SVG}rect") if r.get("fill") == "none"]
    assert len(outlines) == 1
    assert outlines[0].get("width") == segments(root)[0].get("width")


def test_the_legend_names_each_state_present_in_the_order_drawn():
    root = bars(
        [
            ("Management & Practice", [(Rag.AMBER, 2), (Rag.RED, 0), (Rag.GREEN, 1)]),
            ("Programme", [(Rag.RED, 1), (Rag.AMBER, 3)]),
        ]
    )

    labels = [text for text in texts(root) if text in Rag.labels]
    assert labels == ["At risk", "On track", "Off track"]
    # A state with no actions in a row draws no segment there.
    titles = [s.find(f"{SVG}title").text for s in segments(root)]
    assert titles == ["At risk: 2", "On track: 1", "Off track: 1", "At risk: 3"]


def test_a_long_row_label_is_cut_short_but_kept_whole_in_its_title():
    label = "Partnerships, commissioning and the voice of children and families"
    root = bars([(label, [(Rag.GREEN, 1)]), ("Programme", [(Rag.GREEN, 1)])])

    (whole, shown), short = row_labels(root)
    assert whole == label
    assert shown.endswith("…")
    assert label.startswith(shown[:-1])
    assert short == ("Programme", "Programme")


def test_a_negative_count_is_refused():
    with pytest.raises(ValueError):
        bars([("Programme", [(Rag.RED, -1)])])


def test_a_missing_value_breaks_the_line_and_has_no_dot():
    root = trend(months(Decimal("70"), Decimal("72"), None, Decimal("75"), Decimal("76")))

    lines = root.findall(f"{SVG}polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 2]
    dots = [circle.find(f"{SVG}title").text for circle in root.iter(f"{SVG}circle")]
    assert dots == ["Month 1: 70", "Month 2: 72", "Month 4: 75", "Month 5: 76"]
    # The two pieces keep their places: the second starts two periods after the first ends.
    end_of_first = float(lines[0].get("points").split()[-1].split(",")[0])
    start_of_second = float(lines[1].get("points").split()[0].split(",")[0])
    step = end_of_first - float(lines[0].get("points").split()[0].split(",")[0])
    assert start_of_second - end_of_first == pytest.approx(2 * step, abs=0.2)


def test_a_flat_series_draws_a_level_line():
    root = trend(months(5, 5, 5))

    heights = {circle.get("cy") for circle in root.iter(f"{SVG}circle")}
    assert len(heights) == 1
    assert 0 < float(heights.pop()) < float(root.get("viewBox").split()[3])


def test_a_single_value_sits_in_the_middle_with_its_period_and_figure():
    root = trend([("Dec 2017", Decimal("82.40"))], unit="%")

    (dot,) = root.iter(f"{SVG}circle")
    width = float(root.get("viewBox").split()[2])
    axis = root.find(f"{SVG}line")
    assert float(dot.get("cx")) == pytest.approx(
        (float(axis.get("x1")) + float(axis.get("x2"))) / 2
    )
    assert 0 < float(dot.get("cy")) < float(axis.get("y1"))
    assert float(dot.get("cx")) < width
    assert {"Dec 2017", "82.4%"} <= set(texts(root))


def test_values_are_placed_on_the_given_scale():
    root = trend(months(0, 50, 100), y_min=0, y_max=100, target=50)

    low, middle, high = (float(circle.get("cy")) for circle in root.iter(f"{SVG}circle"))
    assert low > middle > high  # higher values are drawn higher up
    assert middle == pytest.approx((low + high) / 2, abs=0.1)
    (target,) = dashed_lines(root)
    assert float(target.get("y1")) == pytest.approx(middle, abs=0.1)
    assert {"0", "100"} <= set(texts(root))  # the scale's ends


def test_a_target_draws_a_labelled_dashed_line():
    points = months(Decimal("80"), Decimal("82"))

    with_target = trend(points, target=Decimal("85.00"), unit="%")
    (line,) = dashed_lines(with_target)
    assert line.get("y1") == line.get("y2")
    assert "Target 85%" in texts(with_target)
    # The target sits above both values, so the scale stretches to show it.
    assert float(line.get("y1")) < min(float(c.get("cy")) for c in with_target.iter(f"{SVG}circle"))

    without = trend(points, unit="%")
    assert dashed_lines(without) == []
    assert not [text for text in texts(without) if text.startswith("Target")]


def test_the_latest_value_has_the_larger_dot_and_its_figure():
    root = trend(months(Decimal("79.5"), Decimal("82.40"), Decimal("83.00"), None), unit="%")

    circles = list(root.iter(f"{SVG}circle"))
    radii = [float(circle.get("r")) for circle in circles]
    assert radii[-1] > max(radii[:-1])
    assert circles[-1].find(f"{SVG}title").text == "Month 3: 83%"
    assert circles[1].find(f"{SVG}title").text == "Month 2: 82.4%"
    label = next(t for t in root.iter(f"{SVG}text") if t.text == "83%")
    assert float(label.get("x")) > float(circles[-1].get("cx"))
    # The first and last periods are named under the axis, gap or not.
    assert {"Month 1", "Month 4"} <= set(texts(root))


@pytest.mark.parametrize("points", [[], months(None, None)], ids=["no periods", "all gaps"])
def test_no_values_draws_the_axis_and_says_so(points):
    root = trend(points, target=50)

    assert "No values yet" in texts(root)
    assert root.findall(f"{SVG}polyline") == []
    assert list(root.iter(f"{SVG}circle")) == []
    assert len(root.findall(f"{SVG}line")) == 1  # the axis


@pytest.mark.parametrize(
    "value, written",
    [
        (Decimal("83.00"), "83"),
        (Decimal("82.40"), "82.4"),
        (Decimal("100"), "100"),
        (Decimal("1E+2"), "100"),
        (73.3333, "73.33"),
        (0.0, "0"),
        (-0.001, "0"),
    ],
)
def test_numbers_are_written_without_trailing_zeros(value, written):
    assert number(value) == written


@pytest.mark.parametrize(
    "unit, written",
    [
        ("%", "12.5%"),
        ("days", "12.5 days"),
        (" days", "12.5 days"),
        ("number", "12.5"),
        ("", "12.5"),
    ],
)
def test_the_latest_value_is_written_with_its_unit_as_the_indicator_pages_write_it(unit, written):
    root = trend(months(10, Decimal("12.50")), unit=unit)

    assert written in texts(root)


def test_coordinates_are_rounded_to_one_decimal_place():
    svgs = [
        brag_bars(id="a", title="t", description="d", rows=[("P", [(Rag.RED, 1), (Rag.GREEN, 2)])]),
        trend_line(id="b", title="t", description="d", points=months(1, 2.3456, 7), target=3.3333),
    ]
    for svg in svgs:
        for element in parse(svg).iter():
            for name in ("x", "y", "width", "height", "cx", "cy", "x1", "y1", "points"):
                value = element.get(name) or ""
                assert not re.search(r"\.\d\d", value), (element.tag, name, value)
