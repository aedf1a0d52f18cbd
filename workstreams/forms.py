from crispy_forms_gds.fields import DateInputField
from crispy_forms_gds.helper import FormHelper
from crispy_forms_gds.layout import Field, Fieldset, Layout, Size, Submit
from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils import timezone
from django.utils.html import format_html_join

from .audit import name_from
from .models import ActionStatus, DueDateChange

NARRATIVE_LIMIT = 5000


class DueDateField(DateInputField):
    """GOV.UK date input (day, month, year) with messages that say how to put it right:
    one message for the date, however many of its boxes are wrong."""

    def clean(self, value):
        try:
            return super().clean(value)
        except ValidationError as error:
            if any(not str(part).strip().isdigit() for part in value or () if part):
                raise ValidationError("Enter the date as numbers, for example 31 3 2019") from None
            raise ValidationError(error.messages[0]) from None

    def compress(self, data_list):
        day, month, year = data_list
        if day and month and year and len(str(year)) != 4:
            raise ValidationError("Enter the year as 4 digits, for example 2019")
        try:
            return super().compress(data_list)
        except ValidationError:
            raise ValidationError("Enter a real date, for example 31 3 2019") from None


class AsAtForm(forms.Form):
    """Checks the state of the plan a page asks for (``selectors.AsAt``): ``period``, a month
    (its first day) not after this one, and ``as_of``, a day not after today and not before
    the period it looks at. The dashboard's form and the action list's filters both build on
    it, so they accept and refuse the same things."""

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        period, as_of = data.get("period"), data.get("as_of")
        if period and period.replace(day=1) > today:
            self.add_error("period", f"Choose {today:%B %Y} or an earlier month.")
        elif period:
            data["period"] = period.replace(day=1)
        if as_of and as_of > today:
            self.add_error("as_of", f"Choose a date no later than today ({today:%-d %B %Y}).")
        elif as_of and period and as_of < period.replace(day=1):
            self.add_error(
                "as_of",
                f"Choose a date on or after the start of the month viewed ({period:%-d %B %Y}).",
            )
        return data


class ActionUpdateForm(forms.Form):
    """The monthly update of one action. ``version`` is the action's version when the form
    was opened: saving on top of someone else's change is refused, not silently lost."""

    status = forms.ChoiceField(
        choices=[c for c in ActionStatus.choices if c[0] != ActionStatus.CLOSED],
        label="Status",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select the action's status",
            "invalid_choice": "Select a status from the list",
        },
    )
    progress_narrative = forms.CharField(
        label="Progress this month",
        help_text="What was done this month, and what difference it made.",
        max_length=NARRATIVE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": "Say what progress was made this month",
            "max_length": f"Progress must be {NARRATIVE_LIMIT:,} characters or fewer",
        },
    )
    evidence_of_impact = forms.CharField(
        label="Evidence of impact",
        help_text="How do we know it is making a difference? Needed to mark the action complete.",
        required=False,
        max_length=NARRATIVE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": f"Evidence of impact must be {NARRATIVE_LIMIT:,} characters or fewer"
        },
    )
    next_steps = forms.CharField(
        label="Next steps",
        # crispy-forms-gds's character count needs a hint to attach to.
        help_text="What happens next, and by when.",
        required=False,
        max_length=NARRATIVE_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": f"Next steps must be {NARRATIVE_LIMIT:,} characters or fewer"
        },
    )
    revised_due_date = DueDateField(
        label="New due date",
        help_text="Only if the due date has to move. For example, 31 3 2019.",
        required=False,
        require_all_fields=False,
    )
    due_date_reason = forms.CharField(
        label="Why the due date has to move",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "The reason must be 2,000 characters or fewer"},
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args, action, chair: bool, **kwargs):
        self.action = action
        super().__init__(*args, **kwargs)
        if not chair:
            self.fields["revised_due_date"].help_text = (
                "Only if the due date has to move. The task group chair approves the move. "
                "For example, 31 3 2019."
            )
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            Field.radios("status", legend_size=Size.MEDIUM, inline=False),
            Field.textarea(
                "progress_narrative", label_size=Size.MEDIUM, max_characters=NARRATIVE_LIMIT
            ),
            Field.textarea(
                "evidence_of_impact", label_size=Size.MEDIUM, max_characters=NARRATIVE_LIMIT
            ),
            Field.textarea("next_steps", label_size=Size.MEDIUM, max_characters=NARRATIVE_LIMIT),
            Fieldset(
                Field("revised_due_date"),
                Field.textarea("due_date_reason"),
                legend="Due date",
                legend_size=Size.MEDIUM,
            ),
            "version",
            Submit("save", "Save update"),
        )

    def clean(self):
        data = super().clean()
        if (
            data.get("status") == ActionStatus.COMPLETE
            and not data.get("evidence_of_impact", "").strip()
        ):
            self.add_error(
                "evidence_of_impact", "Give the evidence of impact to mark the action complete"
            )
        new_date = data.get("revised_due_date")
        if new_date and new_date != self.action.current_due_date:
            if not data.get("due_date_reason", "").strip():
                self.add_error("due_date_reason", "Say why the due date has to move")
        elif (
            data.get("due_date_reason", "").strip()
            and not new_date
            and not self.has_error("revised_due_date")
        ):
            self.add_error("revised_due_date", "Enter the new due date, or clear the reason")
        return data


class DueDateDecisionForm(forms.Form):
    """The task group chair's decision on a request to move a due date (action page)."""

    decision = forms.ChoiceField(
        choices=[
            (DueDateChange.Decision.APPROVED, "Approve"),
            (DueDateChange.Decision.REJECTED, "Reject"),
        ]
    )
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea)


class ImportUploadForm(forms.Form):
    """The spreadsheet to import (what is in it is judged by ``imports.read_upload``).
    ``refused``: why the upload was dropped before it reached the form (too big)."""

    file = forms.FileField(
        label="Upload a spreadsheet",
        help_text="An Excel workbook (.xlsx) or a CSV file (.csv).",
        error_messages={
            "required": "Choose an Excel workbook (.xlsx) or a CSV file (.csv) to upload",
            "empty": "The file is empty",
        },
    )

    def __init__(self, *args, refused: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.refused = refused
        if refused:
            self.fields["file"].required = False

    def clean_file(self):
        if self.refused:
            raise ValidationError(self.refused)
        return self.cleaned_data["file"]


class ImportColumnsForm(forms.Form):
    """Which of Grip's fields each column of the sheet holds: one choice per column, named
    ``column-<n>``, "Ignore" allowed."""

    def __init__(self, *args, headings, fields, choices, samples=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.headings = headings
        for index, heading in enumerate(headings):
            name = f"column-{index}"
            self.fields[name] = forms.ChoiceField(
                label=heading or f"Column {index + 1} (no heading)",
                choices=[("", "Ignore this column"), *choices],
                required=False,
                initial=fields[index] if index < len(fields) else "",
            )
            self.fields[name].sample = samples[index] if index < len(samples) else ""

    def clean(self):
        from .imports import check_fields

        data = super().clean()
        for problem in check_fields(self.headings, self.chosen()):
            self.add_error(None, problem)
        return data

    def chosen(self) -> list[str]:
        return [self.cleaned_data.get(f"column-{i}", "") for i in range(len(self.headings))]


class PersonSelect(forms.Select):
    """A choice of people: a plain ``<select>`` whose options are written here, in one pass,
    rather than as Django's option dictionaries rendered one by one by the template (a
    council has hundreds of people: 15 ms of a report's page at 219)."""

    template_name = "workstreams/widgets/person_select.html"

    def get_context(self, name, value, attrs):
        # The widget's own context (name, attributes, value as a list of strings), without
        # the option groups ChoiceWidget would build only for the template to walk.
        context = forms.Widget.get_context(self, name, value, attrs)
        chosen = context["widget"]["value"]
        context["widget"]["options"] = format_html_join(
            "\n",
            '<option value="{}"{}>{}</option>',
            (
                (choice, " selected" if str(choice) in chosen else "", label)
                for choice, label in self.choices
            ),
        )
        return context


class PeopleChoices(ModelChoiceIterator):
    """People offered as choices (a report item's owner, the action list's lead officer), by
    name (``display_name``): read in one plain query of the columns a name needs, as values.
    ``ModelChoiceIterator`` makes a user of each row, every column (the password hash among
    them) through a server-side cursor: 8 ms of a report's page at 219 people; users of only
    those columns, each with its choice object, still cost 2.3 ms, and values 0.8 ms."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        # The value each option carries: the field's to_field_name (the list's lead officer
        # filter puts usernames in its links), else the primary key.
        key = self.field.to_field_name or "pk"
        people = self.queryset.values_list(key, "first_name", "last_name", "username")
        for value, first_name, last_name, username in people:
            yield (value, name_from(first_name, last_name, username))
