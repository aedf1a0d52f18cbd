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
