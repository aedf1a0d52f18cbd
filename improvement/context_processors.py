"""What every page's header needs: the navigation a user's role may use."""

from django.urls import reverse


def navigation(request):
    """Navigation items for the signed-in user; each is offered only to who may use it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"navigation": []}
    current = request.resolver_match.view_name if request.resolver_match else ""
    items = [("home", "My work", True)]
    items.append(("admin:index", "Admin", user.is_staff))
    return {
        "navigation": [
            {"href": reverse(name), "text": text, "current": current == name}
            for name, text, allowed in items
            if allowed
        ]
    }
