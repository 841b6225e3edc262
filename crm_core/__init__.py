"""Mini CRM core: storage, domain logic and queries. Never imports streamlit."""
