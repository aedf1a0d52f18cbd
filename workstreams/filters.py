"""The action list's filters. They live in the URL, so a filtered list can be shared."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from .audit import display_name
from .models import Action, ActionStatus


class ActionFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Search")
    workstream = django_filters.ChoiceFilter(
        field_name="workstream__code", label="Workstream", empty_label="All workstreams"
    )
    status = django_filters.MultipleChoiceFilter(
        choices=ActionStatus.choices, widget=forms.CheckboxSelectMultiple, label="Status"
    )
    lead = django_filters.ModelChoiceFilter(
        field_name="lead_officer",
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        label="Lead officer",
        empty_label="Anyone",
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
    sort = django_filters.OrderingFilter(
        fields=(
            ("reference", "reference"),
            ("title", "title"),
            ("current_due", "due"),
            ("status", "status"),
            ("lead_officer__last_name", "lead"),
            ("last_update_at", "updated"),
        ),
        field_labels={
            "reference": "Reference",
            "title": "Title",
            "current_due": "Due date",
            "status": "Status",
            "lead_officer__last_name": "Lead officer",
            "last_update_at": "Last update",
        },
        label="Sort by",
        empty_label=None,
    )

    class Meta:
        model = Action
        fields = ["q", "workstream", "status", "lead", "overdue", "due_before"]

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["workstream"].extra["choices"] = list(
            plan.workstreams.order_by("code").values_list("code", "name")
        )
        self.filters["lead"].queryset = (
            get_user_model()
            .objects.filter(led_actions__plan=plan)
            .distinct()
            .order_by("last_name", "first_name")
        )
        self.form.fields["lead"].label_from_instance = display_name

    def filter_text(self, queryset, name, value):
        words = value.split()
        for word in words:
            queryset = queryset.filter(
                Q(reference__icontains=word)
                | Q(title__icontains=word)
                | Q(description__icontains=word)
                | Q(progress_narrative__icontains=word)
            )
        return queryset

    def filter_overdue(self, queryset, name, value):
        return queryset.filter(overdue=True) if value else queryset
