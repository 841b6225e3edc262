"""Settings (admins): the open workspace file, the AI assistant, resetting to fresh demo data, backup and restore."""
import streamlit as st

from crm_core import config, workspace
from crm_core.services import workspace as workspace_services
from ui.ai_settings import ai_settings_panel
from ui.auth import require_role
from ui.backup_panel import backup_panel
from ui.state import get_store
from ui.widgets import run_save

user = require_role("admin")
store = get_store()

st.title("Settings")
facts = workspace.info(store)
st.subheader("Workspace")
st.markdown(f"**Database file:** `{facts.path}`  \n**Schema version:** {facts.schema_version}  \n"
            f"**Holds:** {facts.customers:,} customers and {facts.orders:,} orders")
st.caption("Set the environment variable CRM_DB_PATH before starting the app to open another file.")

ai_settings_panel(store, user)

st.subheader("Reset demo data")
st.write("Replace **all** customers and orders with a freshly generated demo workspace: realistic names, "
         "places, signup dates over two years and orders with line items. The same seed gives the same data.")
default_customers, default_orders = config.demo_size()
with st.form("demo-reset"):
    c1, c2, c3 = st.columns(3)
    customers = c1.number_input("Customers", min_value=1, max_value=2_000_000, value=default_customers, step=1000)
    orders = c2.number_input("Orders", min_value=0, max_value=20_000_000, value=default_orders, step=10000)
    seed = c3.number_input("Seed", min_value=0, value=workspace.demo.DEFAULT_SEED, step=1)
    sure = st.checkbox("I understand this deletes every customer and order in this workspace")
    submitted = st.form_submit_button("Reset demo data", type="primary")
if submitted and not sure:
    st.error("Tick the confirmation box first: the reset deletes every customer and order.")
elif submitted:
    with st.spinner(f"Generating {int(customers):,} customers and {int(orders):,} orders…"):
        done = run_save(lambda: workspace_services.reset_demo(store, user, int(customers), int(orders), seed=int(seed)),
                        "Demo data reloaded")
    if done is not None:
        st.rerun()

backup_panel(store, user)
