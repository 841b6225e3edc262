"""The Users & audit page's account and session tabs: the users table, add/edit/disable/reset/delete, live
sessions and the idle limit. Every change goes through crm_core.services.users (role-checked and audited)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from crm_core import accounts, sessions
from crm_core.permissions import ROLE_LABELS, ROLES, Actor
from crm_core.services import users
from crm_core.services import workspace as workspace_services
from crm_core.store import Store
from ui.text import plain_md
from ui.widgets import run_save

ROLE_HELP = "\n\n".join(ROLE_LABELS[r] for r in ROLES)
PASSWORD_HELP = (f"At least {accounts.MIN_PASSWORD_LENGTH} characters and at most {accounts.MAX_PASSWORD_BYTES} "
                 "bytes. Tell it to the user yourself: it is never shown again, and they must choose their own "
                 "password when they next log in.")
_ADD_FORM = "_users_add_form"  # bumped after a user is added, so the next form starts empty
_SELECTED = "users-selected"


def _done(result: Any) -> None:
    if result is not None:
        st.rerun()


def users_table(table: pl.DataFrame) -> None:
    """Every account: who, role, active or disabled, whether a new password is due, created, last login."""
    st.dataframe(
        table, hide_index=True, width="stretch", key="users-table",
        column_order=users.USER_COLUMNS,
        column_config={
            "username": st.column_config.TextColumn("Username"),
            "name": st.column_config.TextColumn("Name"),
            "email": st.column_config.TextColumn("E-mail"),
            "role": st.column_config.TextColumn("Role"),
            "status": st.column_config.TextColumn("Status"),
            "must_change_password": st.column_config.CheckboxColumn(
                "Must change password", help="The user logs in with a temporary password and must choose their own"),
            "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
            "last_login": st.column_config.DatetimeColumn("Last login (UTC)", format="YYYY-MM-DD HH:mm"),
        })
    st.caption(f"{table.height:,} account{'s' if table.height != 1 else ''} · "
               f"{table.filter(pl.col('status') == 'disabled').height:,} disabled")


def add_user_form(store: Store, user: Actor, auth_path: Path) -> None:
    """The "Add user" form: the new user logs in with the temporary password and must change it."""
    number = st.session_state.get(_ADD_FORM, 0)
    with st.expander("Add user", icon=":material/person_add:"):
        with st.form(f"user-add-{number}"):
            c1, c2 = st.columns(2)
            username = c1.text_input("Username", key=f"user-add-username-{number}",
                                     help="3 to 32 lower-case letters, digits, dots, dashes or underscores")
            name = c2.text_input("Name", key=f"user-add-name-{number}")
            email = c1.text_input("E-mail", key=f"user-add-email-{number}")
            role = c2.selectbox("Role", ROLES, index=ROLES.index("analyst"), format_func=str.capitalize,
                                help=ROLE_HELP, key=f"user-add-role-{number}")
            password = c1.text_input("Temporary password", type="password", help=PASSWORD_HELP,
                                     key=f"user-add-password-{number}")
            confirm = c2.text_input("Repeat the temporary password", type="password", key=f"user-add-confirm-{number}")
            submitted = st.form_submit_button("Add user", type="primary")
    if submitted:
        created = run_save(lambda: users.create_user(store, user, auth_path, username, name, email, role, password,
                                                    confirm),
                          "User added: they must choose their own password when they first log in")
        if created is not None:
            st.session_state[_ADD_FORM] = number + 1
            st.session_state[_SELECTED] = created
            st.rerun()


def _label(table: pl.DataFrame) -> dict[str, str]:
    return {r["username"]: f"{r['name']} ({r['username']}) · {r['role']}"
                           + (" · disabled" if r["status"] == "disabled" else "") for r in table.iter_rows(named=True)}


def manage_user(store: Store, user: Actor, auth_path: Path, table: pl.DataFrame) -> None:
    """For one chosen account: edit name/e-mail/role, disable or enable, temporary password, end sessions, delete."""
    labels = _label(table)
    if not labels:
        return
    if st.session_state.get(_SELECTED) not in labels:
        st.session_state[_SELECTED] = next(iter(labels))
    st.subheader("Manage an account")
    chosen = st.selectbox("Account", list(labels), format_func=labels.get, key=_SELECTED)
    account = accounts.get_account(auth_path, chosen)
    if account is None:
        st.info("This account no longer exists.")
        return
    yours = account.username == user.username
    if yours:
        st.caption("This is your own account: you can edit your name and e-mail here, but not your role; you "
                   "cannot disable or delete it, or give it a temporary password (change your own password instead).")
    _edit_form(store, user, auth_path, account)
    _status_and_sessions(store, user, auth_path, account)
    _reset_form(store, user, auth_path, account)
    _delete_section(store, user, auth_path, account)


def _edit_form(store: Store, user: Actor, auth_path: Path, account: accounts.Account) -> None:
    with st.form(f"user-edit-{account.username}"):
        st.markdown("**Name, e-mail and role**")
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("Name", value=account.name, key=f"user-edit-name-{account.username}")
        email = c2.text_input("E-mail", value=account.email, key=f"user-edit-email-{account.username}")
        role = c3.selectbox("Role", ROLES, index=ROLES.index(account.role) if account.role in ROLES else 2,
                            format_func=str.capitalize, help=ROLE_HELP, key=f"user-edit-role-{account.username}")
        submitted = st.form_submit_button("Save changes")
    if submitted:
        _done(run_save(lambda: users.update_user(store, user, auth_path, account.username, name, email, role),
                      "Account saved"))


def _status_and_sessions(store: Store, user: Actor, auth_path: Path, account: accounts.Account) -> None:
    c1, c2 = st.columns(2)
    if account.disabled:
        if c1.button("Enable account", key=f"user-enable-{account.username}", icon=":material/lock_open:"):
            _done(run_save(lambda: users.enable_user(store, user, auth_path, account.username),
                          "Account enabled: the user can log in again"))
    elif c1.button("Disable account", key=f"user-disable-{account.username}", icon=":material/block:",
                   help="The user can no longer log in; their open sessions end at once"):
        _done(run_save(lambda: users.disable_user(store, user, auth_path, account.username),
                      "Account disabled and its sessions ended"))
    if c2.button("End sessions", key=f"user-end-{account.username}", icon=":material/logout:",
                 help="Log this user out everywhere; they can log in again"):
        _done(run_save(lambda: users.end_sessions(store, user, auth_path, account.username), "Sessions ended"))


def _reset_form(store: Store, user: Actor, auth_path: Path, account: accounts.Account) -> None:
    with st.form(f"user-reset-{account.username}", clear_on_submit=True):
        st.markdown("**Reset the password**")
        st.caption("Set a temporary password: the user must choose their own at their next login. Their open "
                   "sessions end and any wait after failed logins is lifted.")
        c1, c2 = st.columns(2)
        temporary = c1.text_input("Temporary password", type="password", help=PASSWORD_HELP,
                                  key=f"user-reset-pw-{account.username}")
        confirm = c2.text_input("Repeat the temporary password", type="password",
                                key=f"user-reset-confirm-{account.username}")
        submitted = st.form_submit_button("Set temporary password")
    if submitted:
        _done(run_save(lambda: users.reset_password(store, user, auth_path, account.username, temporary, confirm),
                      "Temporary password set: the user must change it at their next login"))


def _delete_section(store: Store, user: Actor, auth_path: Path, account: accounts.Account) -> None:
    with st.form(f"user-delete-{account.username}"):
        st.markdown("**Delete the account**")
        st.caption("Deleting cannot be undone; the audit log keeps what the user did. Disabling keeps the account.")
        sure = st.checkbox(f"Yes, delete the account {plain_md(account.username)}",
                           key=f"user-delete-sure-{account.username}")
        submitted = st.form_submit_button("Delete user", type="primary")
    if submitted and not sure:
        st.error("Tick the confirmation box first: deleting an account cannot be undone.")
    elif submitted:
        if run_save(lambda: users.delete_user(store, user, auth_path, account.username), "Account deleted") is not None:
            st.session_state.pop(_SELECTED, None)
            st.rerun()


def sessions_table(store: Store, user: Actor, auth_path: Path) -> None:
    """The live sessions with an "End sessions" button per user (usernames are [a-z0-9._-]: safe in markdown)."""
    live = sessions.live_sessions(store)
    if live.is_empty():
        st.info("Nobody is logged in right now (sessions idle past the limit count as ended). Sessions appear "
                "here when someone logs in.", icon=":material/info:")
        return
    st.dataframe(live, hide_index=True, width="stretch", key="sessions-table", column_config={
        "username": st.column_config.TextColumn("User"),
        "via": st.column_config.TextColumn("How", help="password or a single sign-on provider"),
        "logged_in_at": st.column_config.DatetimeColumn("Logged in (UTC)", format="YYYY-MM-DD HH:mm"),
        "last_seen": st.column_config.DatetimeColumn("Last active (UTC)", format="YYYY-MM-DD HH:mm"),
        "user_agent": st.column_config.TextColumn("Browser"),
    })
    per_user = live.group_by("username").len().sort("username")
    st.caption(f"{live.height:,} live session{'s' if live.height != 1 else ''} of {per_user.height:,} "
               f"user{'s' if per_user.height != 1 else ''}")
    for username, count in per_user.iter_rows():
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.text(f"{username}: {count} session{'s' if count != 1 else ''}"
                + (" (including this one)" if username == user.username else ""))
        if c2.button("End sessions", key=f"sessions-end-{username}", icon=":material/logout:"):
            _done(run_save(lambda u=username: users.end_sessions(store, user, auth_path, u),
                          f"Sessions of {username} ended"))


def idle_setting(store: Store, user: Actor) -> None:
    """The idle limit: minutes without activity after which a session ends."""
    st.subheader("Idle timeout")
    current = sessions.idle_minutes(store)
    st.caption(f"A session ends after this many minutes without activity; the user then logs in again. Every "
               f"login also ends {sessions.MAX_AGE.days} days after it began, however active. Now: {current:,} minutes.")
    with st.form("idle-timeout"):
        minutes = st.number_input("Minutes without activity", min_value=sessions.MIN_IDLE_MINUTES,
                                  max_value=sessions.MAX_IDLE_MINUTES, value=current, step=5,
                                  help=f"From {sessions.MIN_IDLE_MINUTES} minutes to "
                                       f"{sessions.MAX_IDLE_MINUTES // (24 * 60)} days")
        submitted = st.form_submit_button("Save idle timeout")
    if submitted:
        _done(run_save(lambda: workspace_services.set_idle_minutes(store, user, int(minutes)), f"Idle timeout: {int(minutes)} minutes"))
