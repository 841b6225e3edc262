"""Mini CRM router: login, navigation and sidebar. Nothing else."""
import streamlit as st

from ui.auth import logout_button, remember_login, require_login
from ui.sidebar import workspace_badge
from ui.widgets import show_flash

st.set_page_config(page_title="Mini CRM", page_icon=":material/hub:", layout="wide")
user = require_login()
remember_login()

sections = {
    "Workspace": [
        st.Page("pages/home.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/customers.py", title="Customers", icon=":material/group:"),
        st.Page("pages/orders.py", title="Orders", icon=":material/receipt_long:"),
    ],
}
if "admin" in user.roles:
    sections["Admin"] = [st.Page("pages/workspace.py", title="Settings", icon=":material/settings:")]

navigation = st.navigation(sections)
workspace_badge(user)
logout_button()
show_flash()
navigation.run()
