"""What every page's header needs: the navigation a user's role may use."""

from django.urls import reverse


def navigation(request):
    """Navigation items for the signed-in user; each is offered only to who may use it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    # Who updates actions has "My work"; who only reads has an overview.
    home = "My work" if user.has_perm("workstreams.change_action") else "Overview"
    items = [
        ("home", home, True),
        ("workstreams:action-list", "Actions", True),
        ("admin:index", "Admin", user.is_staff),
    ]
    return {
        "navigation": [
            {"href": reverse(name), "text": text, "current": current.startswith(name)}
            for name, text, allowed in items
            if allowed
        ]
    }
