from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import FormView, TemplateView

from . import exports, selectors, services
from .filters import ActionFilter
from .forms import ActionUpdateForm, DueDateDecisionForm
from .history import history_entries
from .models import DueDateChange
from .spreadsheets import XLSX_CONTENT_TYPE

ACTIONS_PER_PAGE = 25


def mark_updatable(user, actions):
    """Set ``can_update`` on each action row, so a table offers only what the user may do."""
    actions = list(getattr(actions, "object_list", actions))
    for action in actions:
        action.can_update = user.has_perm("workstreams.change_action", action)
    return actions


class LivePlanMixin:
    """Pages show the live plan; actions and workstreams are addressed within it."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.plan = selectors.live_plan_or_404()


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
        page = Paginator(action_filter.qs, ACTIONS_PER_PAGE).get_page(self.request.GET.get("page"))
        query = self.request.GET.copy()
        query.pop("page", None)
        as_at = action_filter.as_at
        # The plan as it stood on a past day is a record: its rows offer no update.
        from_history = as_at.recorded_before is not None
        rows = page.object_list if from_history else mark_updatable(self.request.user, page)
        context.update(
            plan=self.plan,
            filter=action_filter,
            as_at=as_at,
            from_history=from_history,
            offer_updates=not from_history,
            kept_filters=action_filter.kept_filters(),
            page_obj=page,
            page_range=page.paginator.get_elided_page_range(page.number, on_each_side=2),
            actions=rows,
            query=query.urlencode(),
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


class ActionDetailView(LivePlanMixin, TemplateView):
    template_name = "workstreams/action_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        action = selectors.action_for_page(self.plan, kwargs["reference"])
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


class ActionHistoryView(LivePlanMixin, TemplateView):
    template_name = "workstreams/action_history.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        action = selectors.action_for_update(self.plan, kwargs["reference"])
        context.update(action=action, entries=history_entries(action.history.all()))
        return context


class ActionUpdateView(LivePlanMixin, FormView):
    template_name = "workstreams/action_update.html"
    form_class = ActionUpdateForm

    def dispatch(self, request, *args, **kwargs):
        self.action = selectors.action_for_update(self.plan, kwargs["reference"])
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


class DueDateDecisionView(LivePlanMixin, View):
    """POST only: the task group chair approves or rejects a request to move a due date."""

    http_method_names = ["post"]

    def post(self, request, reference, change_id):
        action = selectors.action_for_update(self.plan, reference)
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


class EvidenceAcceptView(LivePlanMixin, View):
    """POST only: the task group chair accepts a complete action's evidence of impact."""

    http_method_names = ["post"]

    def post(self, request, reference):
        action = selectors.action_for_update(self.plan, reference)
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
        actions = selectors.workstream_actions(workstream)
        context.update(
            workstream=workstream,
            actions=mark_updatable(self.request.user, actions),
            rag_counts=selectors.rag_counts(workstream),
            indicators=selectors.workstream_indicators(workstream),
        )
        return context
