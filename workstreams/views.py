from django.views.generic import TemplateView

from . import selectors
from .models import ActionStatus


class HomeView(TemplateView):
    template_name = "workstreams/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        plan = selectors.live_plan()
        context["plan"] = plan
        context["statuses"] = ActionStatus.choices
        if plan is not None:
            context["rows"] = selectors.status_table(selectors.workstreams_with_status_counts(plan))
        return context
