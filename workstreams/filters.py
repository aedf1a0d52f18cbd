"""The action list's filters. They live in the URL, so a filtered list can be shared."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .audit import display_name
from .forms import AsAtForm, PeopleChoices, PersonSelect
from .models import Action, Attention, Rag, in_rag, overdue_condition
from .selectors import SLIPPED, AsAt, actions_updatable_by, due_in, rag_changed_since

# A search is a few words, each of which must appear (in the reference, title, description or
# progress). Each word adds one more condition over four columns, so the search is bounded to
# stay one fast query: 200 characters is the longest an action's title can be and 30 words is
# more than any reference-plan title has (21), so a pasted title is always accepted. 30 words
# take ~40 ms over 1,000 actions on PostgreSQL; 2,000 took 9 s there, and SQLite refused them.
SEARCH_MAX_CHARACTERS = 200
SEARCH_MAX_WORDS = 30


def validate_search(value):
    if len(value) > SEARCH_MAX_CHARACTERS:
        raise ValidationError(f"Search must be {SEARCH_MAX_CHARACTERS} characters or fewer")
    if len(value.split()) > SEARCH_MAX_WORDS:
        raise ValidationError(f"Search for {SEARCH_MAX_WORDS} words or fewer")


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts as asked, then by reference: rows that tie (all the "On track" ones, sorted by
    status) keep one order, so pages never repeat or skip a row and an export lists them
    as the list does."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value:
            qs = qs.order_by(*qs.query.order_by, "reference")
        return qs


class ActionFilter(django_filters.FilterSet):
    # An invalid search is not run: the form shows why instead.
    q = django_filters.CharFilter(
        method="filter_text", label="Search", validators=[validate_search]
    )
    workstream = django_filters.ChoiceFilter(
        field_name="workstream__code", label="Workstream", empty_label="All workstreams"
    )
    # The derived BRAG, as every badge and count shows it (an overdue action is off track),
    # judged on the day the rows are (``in_rag``). A condition on the action's own row: no
    # join repeats a row, so no DISTINCT (the filter's default), which made the paginator
    # count DISTINCT over every column (15 ms of a 37 ms page at 20,000 actions).
    status = django_filters.MultipleChoiceFilter(
        method="filter_status",
        distinct=False,
        choices=Rag.choices,
        widget=forms.CheckboxSelectMultiple,
        label="Status",
        error_messages={"invalid_choice": "Choose statuses from the list"},
    )
    attention = django_filters.ChoiceFilter(
        choices=Attention.choices, label="Needs attention", empty_label="Any"
    )
    mine = django_filters.BooleanFilter(
        method="filter_mine", widget=forms.CheckboxInput, label="Only actions I update"
    )
    lead = django_filters.ModelChoiceFilter(
        field_name="lead_officer",
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        label="Lead officer",
        empty_label="Anyone",
        widget=PersonSelect(attrs={"class": "govuk-select"}),
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        widget=forms.CheckboxInput,
        label="Overdue only",
    )
    due_before = django_filters.DateFilter(
        field_name="current_due",
        lookup_expr="lte",
        label="Due on or before",
        help_text="For example, 31/03/2019",
        input_formats=["%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y"],
        error_messages={"invalid": "Enter the date as day/month/year, for example 31/03/2019."},
    )
    # The state of the plan the list shows, as the dashboard asks for it (``AsAt``): these two
    # choose the rows in ``filter_queryset`` rather than narrowing them.
    period = django_filters.DateFilter(
        method="keep",
        input_formats=["%Y-%m"],
        widget=forms.HiddenInput,
        error_messages={"invalid": "Give the month as YYYY-MM, for example 2018-11."},
    )
    as_of = django_filters.DateFilter(
        method="keep",
        input_formats=["%Y-%m-%d"],
        widget=forms.HiddenInput,
        error_messages={"invalid": "Give the date as YYYY-MM-DD, for example 2018-12-12."},
    )
    due_in = django_filters.DateFilter(
        method="filter_due_in",
        label="Due in the month",
        input_formats=["%Y-%m"],
        widget=forms.HiddenInput,
        error_messages={"invalid": "Give the month as YYYY-MM, for example 2018-12."},
    )
    slipped = django_filters.BooleanFilter(
        method="filter_slipped", widget=forms.CheckboxInput, label="Slipped only"
    )
    changed_since = django_filters.DateFilter(
        method="filter_changed_since",
        label="BRAG changed since",
        widget=forms.HiddenInput,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Give the date as YYYY-MM-DD, for example 2018-12-12."},
    )
    sort = StableOrderingFilter(
        fields=(
            ("reference", "reference"),
            ("title", "title"),
            ("current_due", "due"),
            ("rag_rank", "status"),
            ("lead_officer__last_name", "lead"),
            ("last_update_at", "updated"),
        ),
        field_labels={
            "reference": "Reference",
            "title": "Title",
            "current_due": "Due date",
            "rag_rank": "Status",
            "lead_officer__last_name": "Lead officer",
            "last_update_at": "Last update",
        },
        label="Sort by",
        empty_label=None,
    )

    class Meta:
        model = Action
        fields = ["q", "workstream", "status", "attention", "mine", "lead", "overdue", "due_before"]
        form = AsAtForm

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.filters["workstream"].extra["choices"] = list(
            plan.workstreams.order_by("code").values_list("code", "name")
        )
        # Who leads an action of the plan: asked person by person (EXISTS on the actions'
        # lead officer index), not by joining every action and removing duplicates, which
        # at 20,000 actions cost two such scans a page (the count and the options).
        self.filters["lead"].queryset = (
            get_user_model()
            .objects.filter(Exists(plan.actions.filter(lead_officer=OuterRef("pk"))))
            .order_by("last_name", "first_name")
        )
        lead = self.form.fields["lead"]
        # Their names read once, in one plain query, and written in one pass (a council
        # has hundreds of lead officers).
        lead.iterator = PeopleChoices
        lead.widget.choices = lead.choices

    @property
    def as_at(self) -> AsAt:
        """The state of the plan asked for: the plan now unless a valid period or date is."""
        data = self.form.cleaned_data if self.is_bound and self.form.is_valid() else {}
        return AsAt(today=timezone.localdate(), period=data.get("period"), as_of=data.get("as_of"))

    def filter_queryset(self, queryset):
        as_at = self.as_at
        if as_at.period or as_at.as_of:
            queryset = as_at.rows(self.plan).order_by("reference")
        return super().filter_queryset(queryset)

    def kept_filters(self) -> list[tuple[str, str, str]]:
        """The filters the dashboard's links set that the form does not show as fields:
        (name, value, what it means in words), kept as hidden fields when filters change."""
        if not self.is_bound or not self.form.is_valid():
            return []
        data = self.form.cleaned_data
        kept = []
        if data.get("period"):
            kept.append(("period", f"{data['period']:%Y-%m}", ""))
        if data.get("as_of"):
            kept.append(("as_of", data["as_of"].isoformat(), ""))
        if data.get("due_in"):
            kept.append(
                ("due_in", f"{data['due_in']:%Y-%m}", f"open and due in {data['due_in']:%B %Y}")
            )
        if data.get("changed_since"):
            since = data["changed_since"]
            kept.append(
                (
                    "changed_since",
                    since.isoformat(),
                    f"whose status changed since {since:%-d %B %Y}",
                )
            )
        return kept

    def described(self) -> list[str]:
        """What the filters ask for, in words, in the form's order (an export's title says
        it): ["status Off track", "workstream MP", "sorted by Due date (descending)"]."""
        if not self.is_bound or not self.form.is_valid():
            return []
        data = self.form.cleaned_data
        words = []
        if data.get("q"):
            words.append(f"search “{data['q']}”")
        if data.get("status"):
            words.append("status " + ", ".join(Rag(code).label for code in data["status"]))
        if data.get("workstream"):
            words.append(f"workstream {data['workstream']}")
        if data.get("lead"):
            words.append(f"lead officer {display_name(data['lead'])}")
        if data.get("attention"):
            words.append(f"needing attention: {Attention(data['attention']).label.lower()}")
        if data.get("mine") and self.request is not None:
            words.append(f"only actions {display_name(self.request.user)} updates")
        if data.get("overdue"):
            words.append("overdue only")
        if data.get("slipped"):
            words.append("slipped only")
        if data.get("due_before"):
            words.append(f"due on or before {data['due_before']:%-d %B %Y}")
        words += [meaning for _name, _value, meaning in self.kept_filters() if meaning]
        if data.get("sort"):
            labels = dict(self.form.fields["sort"].choices)
            words.append("sorted by " + ", ".join(labels[key] for key in data["sort"]))
        return words

    def keep(self, queryset, name, value):
        return queryset

    def filter_due_in(self, queryset, name, value):
        return queryset.filter(due_in(value.replace(day=1))) if value else queryset

    def filter_slipped(self, queryset, name, value):
        return queryset.filter(SLIPPED) if value else queryset

    def filter_changed_since(self, queryset, name, value):
        return rag_changed_since(queryset, value) if value else queryset

    def filter_text(self, queryset, name, value):
        words = dict.fromkeys(value.lower().split())  # each word once; the match ignores case
        for word in words:
            queryset = queryset.filter(
                Q(reference__icontains=word)
                | Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(progress_narrative__icontains=word)
            )
        return queryset

    def filter_mine(self, queryset, name, value):
        if not value or self.request is None:
            return queryset
        return actions_updatable_by(self.request.user, queryset)

    def filter_status(self, queryset, name, value):
        return queryset.filter(in_rag(set(map(Rag, value)), self.as_at.day)) if value else queryset

    def filter_overdue(self, queryset, name, value):
        return queryset.filter(overdue_condition(self.as_at.day)) if value else queryset
