from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views import View
from django.views.generic import FormView, TemplateView

from . import exports, imports, selectors, services
from .filters import ActionFilter
from .forms import ActionUpdateForm, DueDateDecisionForm, ImportColumnsForm, ImportUploadForm
from .history import history_entries
from .models import ActionImport, DueDateChange
from .spreadsheets import XLSX_CONTENT_TYPE


def mark_updatable(user, actions):
    """Set ``can_update`` on each action row, so a table offers only what the user may do."""
    actions = list(getattr(actions, "object_list", actions))
    for action in actions:
        action.can_update = user.has_perm("workstreams.change_action", action)
    return actions


def paginated(request, rows) -> dict:
    """The page of ``rows`` the request asks for (``?page=N``, ``ACTIONS_PER_PAGE`` to a
    page) and what ``components/pagination.html`` needs to link the others, keeping the other
    parameters of the request (its filters, its sort)."""
    pages = selectors.IdsFirstPaginator(rows, selectors.ACTIONS_PER_PAGE)
    page = pages.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2),
        "query": query.urlencode(),
    }


class LivePlanMixin:
    """Pages show the live plan; actions and workstreams are addressed within it."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.plan = self.get_plan()

    def get_plan(self):
        return selectors.live_plan_or_404()


class LiveActionMixin:
    """Pages about one action of the live plan (``reference``): the action is read with its
    plan, in one query, once the request is one the page answers."""

    @cached_property
    def action(self):
        return selectors.action_for_update(self.kwargs["reference"])


def action_list_filter(request, plan) -> ActionFilter:
    """The action list's filters as the request asks for them, over the plan's actions in
    reference order: the list and its exports read the same rows, in the same order."""
    actions = selectors.action_rows(plan.actions.all()).order_by("reference")
    return ActionFilter(request.GET or None, queryset=actions, plan=plan, request=request)


class ActionListView(LivePlanMixin, TemplateView):
    template_name = "workstreams/action_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        action_filter = action_list_filter(self.request, self.plan)
        pages = paginated(self.request, action_filter.qs)
        page = pages["page_obj"]
        as_at = action_filter.as_at
        # The plan as it stood on a past day is a record: its rows offer no update.
        from_history = as_at.recorded_before is not None
        rows = page.object_list if from_history else mark_updatable(self.request.user, page)
        context.update(
            pages,
            plan=self.plan,
            filter=action_filter,
            as_at=as_at,
            from_history=from_history,
            offer_updates=not from_history,
            kept_filters=action_filter.kept_filters(),
            actions=rows,
        )
        return context


class ActionExportView(LivePlanMixin, View):
    """GET only: the action list as a file, with the list's filters (``?status=red&period=
    2018-11`` ...): the same rows in the same order, every one of them, not a page. For every
    signed-in user, as the list is. Filters that do not check out are not silently dropped:
    the list shows what is wrong with them."""

    file_format = "xlsx"

    def get(self, request):
        action_filter = action_list_filter(request, self.plan)
        if action_filter.is_bound and not action_filter.form.is_valid():
            messages.error(request, "Correct the filters, then export again.")
            return redirect(f"{reverse('workstreams:action-list')}?{request.GET.urlencode()}")
        as_at = action_filter.as_at
        rows = exports.tracker_rows(action_filter.qs, as_at)
        now = timezone.localtime()
        if self.file_format == "csv":
            content, content_type = exports.tracker_csv(rows), exports.CSV_CONTENT_TYPE
        else:
            title = exports.tracker_title(action_filter.described(), as_at, by=request.user, at=now)
            content, content_type = exports.tracker_xlsx(rows, title), XLSX_CONTENT_TYPE
        return file_response(
            content, content_type, exports.filename("actions", now.date(), self.file_format)
        )


def file_response(content: bytes, content_type: str, filename: str) -> HttpResponse:
    """A file to download, named, never kept by a shared cache."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class ActionDetailView(TemplateView):
    template_name = "workstreams/action_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        action = selectors.action_for_page(kwargs["reference"])
        changes = list(action.due_date_changes.all())
        user = self.request.user
        context.update(
            action=action,
            can_update=user.has_perm("workstreams.change_action", action),
            can_decide_due_date=user.has_perm("workstreams.decide_due_date", action),
            can_accept_evidence=action.awaits_evidence_acceptance
            and user.has_perm("workstreams.accept_evidence", action),
            updates=action.updates.all(),
            pending_change=next(
                (c for c in changes if c.decision == DueDateChange.Decision.PENDING), None
            ),
            due_date_changes=changes,
        )
        return context


class ActionHistoryView(LiveActionMixin, TemplateView):
    template_name = "workstreams/action_history.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        action = self.action
        context.update(action=action, entries=history_entries(action.history.all()))
        return context


class ActionUpdateView(LiveActionMixin, FormView):
    template_name = "workstreams/action_update.html"
    form_class = ActionUpdateForm

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("workstreams.change_action", self.action):
            raise PermissionDenied("You may not update this action.")
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["action"] = self.action
        kwargs["chair"] = self.request.user.has_perm("workstreams.decide_due_date", self.action)
        return kwargs

    def get_initial(self):
        action = self.action
        # This month's progress starts empty: last month's words are shown beside the form
        # for reference, never pre-filled, so an update always says something new.
        return {
            "status": action.status,
            "evidence_of_impact": action.evidence_of_impact,
            "version": action.version,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["action"] = self.action
        context["chair"] = self.request.user.has_perm("workstreams.decide_due_date", self.action)
        context["last_update"] = selectors.last_update(self.action)
        context["due_date_limits"] = services.due_date_limits(self.action, timezone.localdate())
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            services.action_update_record(
                action=self.action,
                by=self.request.user,
                based_on_version=data["version"],
                status=data["status"],
                progress_narrative=data["progress_narrative"],
                evidence_of_impact=data["evidence_of_impact"],
                next_steps=data["next_steps"],
                revised_due_date=data["revised_due_date"],
                due_date_reason=data["due_date_reason"],
            )
        except services.ActionChangedSinceOpened as conflict:
            return self.conflict(form, conflict)
        except ValidationError as error:
            add_errors(form, error)
            return self.form_invalid(form)
        message = f"{self.action.reference} updated."
        new_date = data["revised_due_date"]
        if new_date and new_date < self.action.current_due_date:
            message += " Bringing the due date forward does not count as a slip."
        messages.success(self.request, message)
        return redirect(self.action.get_absolute_url())

    def conflict(self, form, conflict):
        """Show what the other person changed; keep this person's entries, based now on the
        current version, so saving again is a deliberate choice."""
        data = form.data.copy()
        data["version"] = conflict.action.version
        self.action = conflict.action
        form = self.get_form_class()(**{**self.get_form_kwargs(), "data": data})
        form.is_valid()
        form.add_error(
            None,
            "Someone else saved this action after you opened it. Nothing of yours has been "
            "saved. Check their changes below, then save again if yours should still apply.",
        )
        return self.render_to_response(
            self.get_context_data(
                form=form, conflict=conflict.changes, conflict_by=conflict.changed_by
            ),
            status=409,
        )


def add_errors(form, error: ValidationError) -> None:
    """Show a service's refusal on the form: each message on its field, or the whole form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


class DueDateDecisionView(LiveActionMixin, View):
    """POST only: the task group chair approves or rejects a request to move a due date."""

    http_method_names = ["post"]

    def post(self, request, reference, change_id):
        action = self.action
        change = get_object_or_404(DueDateChange, pk=change_id, action=action)
        form = DueDateDecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose to approve or reject the new due date.")
            return redirect(action.get_absolute_url())
        approve = form.cleaned_data["decision"] == DueDateChange.Decision.APPROVED
        try:
            services.due_date_change_decide(
                change=change,
                by=request.user,
                approve=approve,
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                f"Due date of {reference} moved to {change.to_date:%-d %B %Y}."
                if approve
                else f"Request to move the due date of {reference} rejected.",
            )
        return redirect(action.get_absolute_url())


class EvidenceAcceptView(LiveActionMixin, View):
    """POST only: the task group chair accepts a complete action's evidence of impact."""

    http_method_names = ["post"]

    def post(self, request, reference):
        action = self.action
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = 0
        try:
            services.action_evidence_accept(
                action=action, by=request.user, based_on_version=version
            )
        except services.ActionChangedSinceOpened:
            messages.error(
                request,
                f"{reference} changed since you opened it. Read the evidence again before "
                "accepting it.",
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Evidence of impact for {reference} accepted.")
        return redirect(action.get_absolute_url())


class WorkstreamDetailView(LivePlanMixin, TemplateView):
    template_name = "workstreams/workstream_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        workstream = selectors.workstream_for_page(self.plan, kwargs["code"])
        pages = paginated(self.request, selectors.workstream_actions(workstream))
        context.update(
            pages,
            workstream=workstream,
            actions=mark_updatable(self.request.user, pages["page_obj"]),
            rag_counts=selectors.rag_counts(workstream),
            indicators=selectors.workstream_indicators(workstream),
        )
        return context


# --- Importing the plan from a spreadsheet -------------------------------------------------


class ImportAllowedMixin:
    """Only the programme office (and administrators) import the plan."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.has_perm("workstreams.import_plan"):
            raise PermissionDenied("Only the programme office imports the plan.")
        return super().dispatch(request, *args, **kwargs)


class ImportPageMixin(ImportAllowedMixin, LivePlanMixin):
    """A page of one uploaded file (``ActionImport``), found by its token in the live plan."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.has_perm("workstreams.import_plan"):
            self.action_import = get_object_or_404(
                self.import_queryset(), token=kwargs["token"], plan=self.plan
            )
        return super().dispatch(request, *args, **kwargs)

    def import_queryset(self):
        return ActionImport.objects.all()


class ImportUploadView(ImportAllowedMixin, LivePlanMixin, FormView):
    """Step 1: upload a spreadsheet. A file that cannot be read is refused here, with why;
    one that can is kept with its preview, and the officer is sent to the preview. A file
    past the size limit never reaches the view: it is dropped as it arrives
    (``imports.LimitedUpload``)."""

    template_name = "workstreams/import_upload.html"
    form_class = ImportUploadForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if getattr(self.request, "upload_too_big", False):
            kwargs["refused"] = imports.too_big(imports.max_bytes())
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            plan=self.plan,
            max_bytes=imports.size_words(imports.max_bytes()),
            max_rows=f"{imports.max_rows():,}",
            fields=imports.FIELDS,
            read_only=imports.READ_ONLY_HEADINGS,
        )
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            read = imports.read_and_preview(
                file=upload, name=upload.name, plan=self.plan, by=self.request.user
            )
        except imports.ImportRefused as refused:
            form.add_error("file", str(refused))
            return self.form_invalid(form)
        action_import = services.action_import_start(by=self.request.user, plan=self.plan, **read)
        return redirect(action_import.get_absolute_url())


class ImportPreviewView(ImportPageMixin, FormView):
    """Step 2: what the import would do, row by row; nothing is written. The form says which
    of Grip's fields each column holds; sent, the sheet is read again that way and the
    mapping kept for the next sheet with the same headings."""

    template_name = "workstreams/import_preview.html"
    form_class = ImportColumnsForm

    def import_queryset(self):
        # The page shows the preview's summary (``ActionImport.summary``): the sheet's rows
        # and the whole preview, megabytes for a long sheet, are read only to read the
        # columns again.
        found = super().import_queryset()
        return found.defer("rows", "preview") if self.request.method in ("GET", "HEAD") else found

    def get(self, request, *args, **kwargs):
        if self.action_import.state == ActionImport.State.IMPORTED:
            return redirect(self.action_import.get_absolute_url())
        return super().get(request, *args, **kwargs)

    @cached_property
    def summary(self) -> dict:
        """What the page shows (``imports.preview_summary``); made here from the whole preview
        for an upload kept before there were summaries (or by a server not yet updated)."""
        found = self.action_import
        return found.summary or imports.preview_summary(found.preview, found.rows)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        found = self.action_import
        kwargs.update(
            headings=found.headings,
            fields=found.fields,
            choices=imports.field_choices(),
            samples=self.summary["samples"],
        )
        return kwargs

    def form_valid(self, form):
        found, fields = self.action_import, form.chosen()
        try:
            services.action_import_read_again(
                action_import=found,
                by=self.request.user,
                fields=fields,
                preview=imports.preview_if_readable(
                    plan=self.plan,
                    by=self.request.user,
                    headings=found.headings,
                    fields=fields,
                    rows=found.rows,
                ),
            )
        except ValidationError as error:
            messages.error(self.request, " ".join(error.messages))
            return redirect(found.get_absolute_url())
        messages.success(
            self.request,
            "The columns were read again as you chose. Grip will read them this way the next "
            "time a sheet with these headings is uploaded.",
        )
        return redirect(found.get_absolute_url())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        found = self.action_import
        summary = self.summary
        previewed, counts, listed = summary["previewed"], summary["counts"], summary["rows"]
        # Columns not read are pointed out until the officer has chosen (a kept mapping).
        chosen = imports.saved_fields(found.headings) == found.fields
        unread = [] if chosen else imports.unread_columns(found.headings, found.fields)
        form = context["form"]
        context.update(
            action_import=found,
            previewed=previewed,
            counts=counts,
            errors=listed["error"],
            created=listed["create"],
            changed=listed["change"],
            # One string, escaped once: 9,800 references escaped one by one took 11 ms.
            same=", ".join(summary["same"]),
            more={kind: counts.get(kind, 0) - len(listed[kind]) for kind in listed},
            to_import=counts.get("create", 0) + counts.get("change", 0),
            unread=unread,
            mapping_open=bool(unread) or not previewed or form.is_bound,
            columns=[form[f"column-{i}"] for i in range(len(found.headings))],
        )
        return context


class ImportConfirmView(LivePlanMixin, View):
    """Step 3, POST only: import the previewed rows without errors, as the preview stored
    them (the request carries only the import's token), in one transaction.

    Rows with errors are left out, and the preview says so before the officer confirms: the
    rest of the file need not wait for them, and importing the corrected file later changes
    only what is still different. If any row cannot be applied after all (its action changed
    since the preview, its reference was taken), nothing is imported: the preview is read
    again against the plan as it is now, to check and confirm again."""

    http_method_names = ["post"]

    def post(self, request, token):
        if not request.user.has_perm("workstreams.import_plan"):
            raise PermissionDenied("Only the programme office imports the plan.")
        found = get_object_or_404(ActionImport, token=token, plan=self.plan)
        if found.state == ActionImport.State.IMPORTED:
            return redirect(found.get_absolute_url())
        try:
            services.plan_import_apply(
                by=request.user, action_import=found, rows=imports.rows_to_apply(found)
            )
        except services.ImportRowRefused as refused:
            self.read_again(found)
            messages.error(
                request,
                f"Nothing was imported. Row {refused.row} ({refused.reference}): "
                f"{refused.reason} The preview below is read again against the plan as it is "
                "now: check it, then confirm again.",
            )
            return redirect(found.get_absolute_url())
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(found.get_absolute_url())
        found.refresh_from_db()
        return redirect(found.get_absolute_url())

    def read_again(self, found: ActionImport) -> None:
        found.refresh_from_db()
        services.action_import_read_again(
            action_import=found,
            by=self.request.user,
            fields=found.fields,
            preview=imports.preview_if_readable(
                plan=self.plan,
                by=self.request.user,
                headings=found.headings,
                fields=found.fields,
                rows=found.rows,
            ),
            remember=False,
        )


class ImportDoneView(ImportPageMixin, TemplateView):
    """What an import did: how many actions it added, changed and left alone, each linked to
    its history."""

    template_name = "workstreams/import_done.html"

    def get(self, request, *args, **kwargs):
        if self.action_import.state != ActionImport.State.IMPORTED:
            return redirect(self.action_import.get_absolute_url())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["action_import"] = self.action_import
        context["rows"] = self.action_import.preview.get("rows", [])
        return context
