"""Who may do what: the actor of a call, the one table of actions with the roles allowed each, and the check."""
from __future__ import annotations

from dataclasses import dataclass

ADMIN, MARKETER, ANALYST = "admin", "marketer", "analyst"
ROLES = (ADMIN, MARKETER, ANALYST)
ROLE_LABELS = {
    ADMIN: "Admin: everything, including users, settings and workspace reset",
    MARKETER: "Marketer: imports, customers and orders, segments, campaigns, AI help",
    ANALYST: "Analyst: reads everything and exports; changes nothing",
}
EVERYONE = (ADMIN, MARKETER, ANALYST)
WRITERS = (ADMIN, MARKETER)
ADMINS = (ADMIN,)


@dataclass(frozen=True)
class Actor:
    """Who is calling a service function: a logged-in user (or the command line / a background job)."""

    username: str
    name: str
    roles: tuple[str, ...]

    @property
    def role(self) -> str:
        """The user's role (the first one listed)."""
        return self.roles[0] if self.roles else "no role"

    @property
    def can_write(self) -> bool:
        """Whether the user may create, edit and delete records (admins and marketers)."""
        return any(r in WRITERS for r in self.roles)

    @property
    def is_admin(self) -> bool:
        """Whether the user holds the admin role."""
        return ADMIN in self.roles


# The command line and background jobs: whoever can run them already holds the workspace file.
SYSTEM = Actor("system", "Command line / background job", (ADMIN,))


def command_line_actor(user: str | None = None) -> Actor:
    """The actor of a command-line run: `--user` when given, else "cli" (an admin: it holds the file)."""
    return Actor((user or "").strip()[:64] or "cli", "Command line", (ADMIN,))


@dataclass(frozen=True)
class Action:
    """One thing a service function does: its key (also the audit log's action), who may, and how to say it."""

    key: str
    roles: tuple[str, ...]
    label: str  # completes "… cannot <label>" and "<user> could <label>"
    object_kind: str | None = None


def _table(*actions: Action) -> dict[str, Action]:
    return {a.key: a for a in actions}


ACTIONS: dict[str, Action] = _table(
    # records
    Action("customer.create", WRITERS, "add customers", "customer"),
    Action("customer.update", WRITERS, "edit customers", "customer"),
    Action("customer.delete", WRITERS, "delete customers", "customer"),
    Action("order.create", WRITERS, "record orders", "order"),
    Action("order.update", WRITERS, "edit orders", "order"),
    Action("order.delete", WRITERS, "delete orders", "order"),
    # imports
    Action("import.run", WRITERS, "import files", "import"),
    Action("import.undo", WRITERS, "undo imports", "import"),
    Action("import.mapping_save", WRITERS, "save column mappings", "mapping"),
    # segments
    Action("segment.save", WRITERS, "save segments", "segment"),
    Action("segment.delete", WRITERS, "delete segments", "segment"),
    Action("segment.duplicate", WRITERS, "duplicate segments", "segment"),
    # campaigns
    Action("campaign.create", WRITERS, "create campaigns", "campaign"),
    Action("campaign.update", WRITERS, "edit campaigns", "campaign"),
    Action("campaign.duplicate", WRITERS, "duplicate campaigns", "campaign"),
    Action("campaign.delete", WRITERS, "delete campaigns", "campaign"),
    Action("campaign.schedule", WRITERS, "schedule campaigns", "campaign"),
    Action("campaign.unschedule", WRITERS, "move scheduled campaigns back to draft", "campaign"),
    Action("campaign.launch", WRITERS, "launch campaigns", "campaign"),
    Action("campaign.pause", WRITERS, "pause campaigns", "campaign"),
    Action("campaign.resume", WRITERS, "resume campaigns", "campaign"),
    Action("campaign.cancel", WRITERS, "cancel campaigns", "campaign"),
    Action("campaign.simulate_conversions", WRITERS, "simulate campaign conversions", "campaign"),
    Action("campaign.remove_simulated", WRITERS, "remove simulated orders", "campaign"),
    # AI help (it writes nothing, but it is a marketer's tool and may send data to a model)
    Action("ai.use", WRITERS, "use the AI assistant", "ai"),
    # exports: everyone reads and exports
    Action("export.download", EVERYONE, "download exports", "export"),
    Action("export.file", EVERYONE, "write export files", "export"),
    # settings and the workspace
    Action("settings.change", ADMINS, "change settings", "settings"),
    Action("workspace.reset", ADMINS, "reset the workspace", "workspace"),
    Action("workspace.empty", ADMINS, "empty the workspace", "workspace"),
    Action("workspace.backup", ADMINS, "back up the workspace", "workspace"),
    Action("workspace.restore", ADMINS, "restore backups", "workspace"),
    # users and the audit log
    Action("user.view", ADMINS, "see the list of users", "user"),
    Action("user.create", ADMINS, "create users", "user"),
    Action("user.update", ADMINS, "edit users and roles", "user"),
    Action("user.disable", ADMINS, "disable users", "user"),
    Action("user.enable", ADMINS, "enable users", "user"),
    Action("user.delete", ADMINS, "delete users", "user"),
    Action("user.reset_password", ADMINS, "reset passwords", "user"),
    Action("user.end_sessions", ADMINS, "end other users' sessions", "user"),
    Action("audit.view", ADMINS, "read the audit log", "audit"),
    Action("audit.export", ADMINS, "export the audit log", "audit"),
    # integrations: API keys (a key acts with its own role) and outgoing webhooks
    Action("apikey.view", ADMINS, "see the API keys", "api_key"),
    Action("apikey.create", ADMINS, "create API keys", "api_key"),
    Action("apikey.revoke", ADMINS, "revoke API keys", "api_key"),
    Action("webhook.view", ADMINS, "see the webhook endpoints, their secrets and deliveries", "webhook"),
    Action("webhook.create", ADMINS, "register webhook endpoints", "webhook"),
    Action("webhook.update", ADMINS, "edit, enable or disable webhook endpoints", "webhook"),
    Action("webhook.rotate_secret", ADMINS, "rotate webhook signing secrets", "webhook"),
    Action("webhook.delete", ADMINS, "delete webhook endpoints", "webhook"),
    Action("webhook.test", ADMINS, "send test events to webhook endpoints", "webhook"),
)

# Events the login code records for everyone (not permissions: nobody is refused them).
LOGIN_EVENTS = {
    "auth.login": "logged in",
    "auth.login_failed": "failed to log in",
    "auth.login_refused": "was refused a login (throttled or disabled)",
    "auth.logout": "logged out",
    "auth.session_expired": "was logged out after being idle",
    "auth.password_change": "changed their password",
}


class PermissionDenied(PermissionError):
    """The actor's role does not allow the action; the message says so in plain words (nothing was changed)."""

    def __init__(self, actor: Actor, action: Action):
        self.actor, self.action = actor, action
        allowed = " or ".join(f"{r}s" for r in action.roles)
        super().__init__(f"Your role ({actor.role}) cannot {action.label}: only {allowed} can. "
                         "Nothing was changed. Ask an admin if you need this.")


def action(key: str) -> Action:
    """The action with this key (KeyError names it when there is none)."""
    try:
        return ACTIONS[key]
    except KeyError:
        raise KeyError(f"no action {key!r} in the permission table") from None


def allowed(actor: Actor | None, key: str) -> bool:
    """Whether the actor's role allows the action (nobody logged in: never)."""
    return actor is not None and any(r in action(key).roles for r in actor.roles)


def require(actor: Actor | None, key: str) -> None:
    """Raise PermissionDenied unless the actor's role allows the action."""
    if actor is None:
        raise PermissionDenied(Actor("anonymous", "Not logged in", ()), action(key))
    if not allowed(actor, key):
        raise PermissionDenied(actor, action(key))
