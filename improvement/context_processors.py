"""What every page needs: the navigation a user's role may use, and whom to contact."""

import rules
from django.conf import settings
from django.urls import reverse


def navigation(request):
    """Navigation items for the signed-in user; each is offered only to who may use it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    items = [
        # "Home" for everyone: My work for whoever has something to do (actions to update,
        # decisions, reports to write or review), the plan at a glance for readers.
        ("home", "Home", True),
        ("governance:dashboard", "Dashboard", True),
        ("workstreams:action-list", "Actions", True),
        ("governance:report-list", "Reports", True),
        ("governance:meeting-list", "Meetings", True),
        ("governance:risk-list", "Risks", True),
        # Asked of the rules alone (rules.has_perm): Django's model backend would spend two
        # queries on every page finding the permissions no one is given there.
        ("workstreams:import", "Import", rules.has_perm("workstreams.import_plan", user)),
        ("admin:index", "Admin", user.is_staff),
    ]
    return {
        "navigation": [
            {"href": reverse(name), "text": text, "current": current.startswith(name)}
            for name, text, allowed in items
            if allowed
        ]
    }


def contact(request):
    """Whom people contact, as every page may say it: the programme office's e-mail, where
    beta feedback goes (a form, else that e-mail; no link when neither is set), and whether
    password reset by e-mail is offered."""
    email = settings.GRIP_PROGRAMME_OFFICE_EMAIL
    return {
        "programme_office_email": email,
        "feedback_href": settings.GRIP_FEEDBACK_URL or (f"mailto:{email}" if email else ""),
        "password_reset_offered": settings.GRIP_PASSWORD_RESET,
    }
