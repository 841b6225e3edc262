"""`python -m crm_core api-key create|list|revoke`: API keys, headless (while the app is stopped)."""
from __future__ import annotations

import argparse
from datetime import datetime, time, timedelta

from crm_core.integrations.api_keys import DEFAULT_AI_RATE_LIMIT, DEFAULT_RATE_LIMIT
from crm_core.permissions import ROLES, command_line_actor
from crm_core.services import api_keys
from crm_core.store import Store
from crm_core.validation import utc_now


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the api-key commands on the main parser."""
    key = sub.add_parser("api-key", help="create, list or revoke API keys for the HTTP API")
    actions = key.add_subparsers(dest="key_command", required=True)
    new = actions.add_parser("create", help="make a key; its secret is printed once")
    new.add_argument("name", help="who or what uses it, e.g. 'Shop sync'")
    new.add_argument("--role", choices=ROLES, required=True)
    new.add_argument("--expires-days", type=int, default=None, help="days until it expires (default: never)")
    new.add_argument("--rate-limit", type=int, default=DEFAULT_RATE_LIMIT, help="requests per minute")
    new.add_argument("--ai-rate-limit", type=int, default=DEFAULT_AI_RATE_LIMIT, help="AI-backed requests per minute")
    new.add_argument("--user", default=None, help="name recorded as the maker (default: cli)")
    actions.add_parser("list", help="every key with its role and state (never a secret)")
    gone = actions.add_parser("revoke", help="revoke a key by its id")
    gone.add_argument("key_id", type=int)
    gone.add_argument("--user", default=None)


def run(store: Store, args: argparse.Namespace) -> int:
    """Run one api-key command; return the exit code."""
    actor = command_line_actor(getattr(args, "user", None))
    if args.key_command == "list":
        for row in api_keys.list_keys(store, actor).iter_rows(named=True):
            print(f"{row['id']:>4}  {row['name']:<32} mcrm_{row['prefix']}_…  {row['role']:<9} {row['state']:<8} "
                  f"{row['rate_limit']}/min  last used {row['last_used_at'] or 'never'}")
        return 0
    if args.key_command == "revoke":
        key = api_keys.revoke_key(store, actor, args.key_id)
        print(f"revoked key {key.id} ({key.name}) at {key.revoked_at:%Y-%m-%d %H:%M} UTC")
        return 0
    expires = None
    if args.expires_days is not None:
        expires = datetime.combine((utc_now() + timedelta(days=args.expires_days)).date(), time(23, 59))
    key, secret = api_keys.create_key(store, actor, args.name, args.role, expires, args.rate_limit,
                                      args.ai_rate_limit)
    print(f"key {key.id} ({key.name}, {key.role}) made; copy it now, it is not shown again:\n{secret}")
    return 0
