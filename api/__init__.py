"""The HTTP API: thin Starlette views over crm_core/services, served beside the dashboard by st.App."""
