"""The integration tables (schema migration 9): API keys, outgoing webhook endpoints and their deliveries."""
from __future__ import annotations

from crm_core.migration import Migration

# API keys are stored as a SHA-256 of the whole key (a random 190-bit secret needs no slow hash) with a short
# prefix to show in lists. Webhook endpoints have their own signing secret; each event sent to an endpoint is a
# delivery row (the exact JSON body it sends, its state and next attempt), retried with backoff until it lands or runs
# out of attempts; every attempt's answer (status code or error) is a webhook_attempts row. Like the login sessions, none of it
# is in a workspace backup: keys and endpoints belong to this installation, not to the data.
INTEGRATIONS = Migration(
    9,
    "integrations: API keys, webhook endpoints and webhook deliveries",
    (
        "CREATE SEQUENCE api_key_ids START 1",
        """CREATE TABLE api_keys (
            id BIGINT PRIMARY KEY DEFAULT nextval('api_key_ids'),
            name VARCHAR NOT NULL,
            prefix VARCHAR NOT NULL UNIQUE,
            key_hash VARCHAR NOT NULL UNIQUE,
            role VARCHAR NOT NULL,
            rate_limit INTEGER NOT NULL,
            ai_rate_limit INTEGER NOT NULL,
            created_by VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            expires_at TIMESTAMP,
            revoked_at TIMESTAMP,
            revoked_by VARCHAR,
            last_used_at TIMESTAMP
        )""",
        "CREATE SEQUENCE webhook_endpoint_ids START 1",
        """CREATE TABLE webhook_endpoints (
            id BIGINT PRIMARY KEY DEFAULT nextval('webhook_endpoint_ids'),
            url VARCHAR NOT NULL,
            description VARCHAR,
            events VARCHAR[] NOT NULL,
            secret VARCHAR NOT NULL,
            active BOOLEAN NOT NULL,
            created_by VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_by VARCHAR,
            updated_at TIMESTAMP NOT NULL,
            secret_rotated_at TIMESTAMP
        )""",
        "CREATE SEQUENCE webhook_delivery_ids START 1",
        """CREATE TABLE webhook_deliveries (
            id BIGINT PRIMARY KEY DEFAULT nextval('webhook_delivery_ids'),
            endpoint_id BIGINT NOT NULL,
            event VARCHAR NOT NULL,
            event_id VARCHAR NOT NULL,
            payload VARCHAR NOT NULL,
            state VARCHAR NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at TIMESTAMP,
            max_attempts INTEGER NOT NULL,
            last_attempt_at TIMESTAMP,
            last_status INTEGER,
            last_error VARCHAR,
            created_at TIMESTAMP NOT NULL,
            delivered_at TIMESTAMP
        )""",
        """CREATE TABLE webhook_attempts (
            delivery_id BIGINT NOT NULL,
            attempt INTEGER NOT NULL,
            attempted_at TIMESTAMP NOT NULL,
            status_code INTEGER,
            error VARCHAR,
            milliseconds INTEGER NOT NULL,
            PRIMARY KEY (delivery_id, attempt)
        )""",
    ),
)

INTERNAL_TABLES = ("api_keys", "webhook_endpoints", "webhook_deliveries", "webhook_attempts")
INTERNAL_SEQUENCES = ("api_key_ids", "webhook_endpoint_ids", "webhook_delivery_ids")
