"""Users & audit (admins): accounts and roles, live sessions and the idle limit, the audit log."""
import streamlit as st

from crm_core import config
from crm_core.services import users
from ui.audit_view import audit_tab
from ui.auth import require_role
from ui.state import get_store
from ui.user_admin import add_user_form, idle_setting, manage_user, sessions_table, users_table

user = require_role("admin")
store = get_store()
auth_path = config.auth_path()

st.title("Users & audit")
accounts_tab, sessions_tab, log_tab = st.tabs(["Users", "Sessions", "Audit log"], key="users-tabs",
                                              on_change="rerun")
if accounts_tab.open:
    with accounts_tab:
        table = users.list_users(store, user, auth_path)
        users_table(table)
        add_user_form(store, user, auth_path)
        manage_user(store, user, auth_path, table)
if sessions_tab.open:
    with sessions_tab:
        sessions_table(store, user, auth_path)
        idle_setting(store, user)
if log_tab.open:
    with log_tab:
        audit_tab(store, user)
