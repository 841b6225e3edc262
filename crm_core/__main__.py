"""Entry point for `python -m crm_core`."""
from crm_core.cli import main

raise SystemExit(main())
