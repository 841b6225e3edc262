"""The service functions pages (and the HTTP API) call to change anything: each takes the acting user,
checks the permission table (crm_core.permissions) and writes the audit log (crm_core.audit.audited)
around the plain function that does the work."""
