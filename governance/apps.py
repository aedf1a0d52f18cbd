from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        from workstreams.selectors import register_updatable_actions

        from .roles import roles_of

        # Lists of "actions I update" ask governance, as single permission checks do.
        register_updatable_actions(
            lambda user, actions: actions.filter(roles_of(user).updatable_actions())
        )

        from django.contrib.auth.signals import user_logged_in

        from .services import sign_in_record

        # People are in the history (governance/models.py); signing in is not a change to a
        # person, so the time is recorded without a history row (Django's own receiver saves
        # the user, which would write one at every sign-in).
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(
            lambda sender, user, **kwargs: sign_in_record(user=user),
            dispatch_uid="update_last_login",
            weak=False,
        )
