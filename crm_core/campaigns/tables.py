"""The campaign tables: schema migration 5."""
from __future__ import annotations

from crm_core.migration import Migration

# Campaigns (issue 5): the campaign and its lifecycle events, the audience frozen at launch (recipients,
# holdout, capped, no address), the communication log (one message per recipient), the receipts received,
# and the simulated vendor's own state (what a real vendor keeps on its side: the messages it accepted,
# keyed by our message id as the idempotency key, and the receipts it still has to send). No indexes:
# rows of one campaign are written together, so its blocks are found by their min-max ranges.
CAMPAIGNS = Migration(
    5,
    "campaigns, communication log, receipts and the simulated vendor",
    (
        "CREATE SEQUENCE campaign_ids START 1",
        "CREATE SEQUENCE message_ids START 1",
        """CREATE TABLE campaigns (
            id BIGINT PRIMARY KEY DEFAULT nextval('campaign_ids'),
            name VARCHAR NOT NULL,
            description VARCHAR,
            segment_id BIGINT,
            rules JSON,
            channel VARCHAR NOT NULL,
            subject VARCHAR,
            template VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            status_reason VARCHAR,
            scheduled_at TIMESTAMP,
            throttle_per_second INTEGER NOT NULL,
            holdout_pct DECIMAL(5,2) NOT NULL,
            frequency_cap_hours INTEGER,
            seed BIGINT NOT NULL,
            vendor JSON NOT NULL,
            created_by VARCHAR,
            created_at TIMESTAMP NOT NULL,
            updated_by VARCHAR,
            updated_at TIMESTAMP NOT NULL,
            launched_by VARCHAR,
            launched_at TIMESTAMP,
            finished_at TIMESTAMP,
            audience_as_of DATE,
            audience_size BIGINT,
            no_address BIGINT,
            capped BIGINT,
            holdout BIGINT,
            recipients BIGINT
        )""",
        """CREATE TABLE campaign_events (
            campaign_id BIGINT NOT NULL,
            happened_at TIMESTAMP NOT NULL,
            from_status VARCHAR,
            to_status VARCHAR NOT NULL,
            by_user VARCHAR,
            note VARCHAR
        )""",
        """CREATE TABLE campaign_audience (
            campaign_id BIGINT NOT NULL,
            customer_id BIGINT NOT NULL,
            role VARCHAR NOT NULL
        )""",
        """CREATE TABLE messages (
            id BIGINT NOT NULL,
            campaign_id BIGINT NOT NULL,
            customer_id BIGINT NOT NULL,
            channel VARCHAR NOT NULL,
            address VARCHAR NOT NULL,
            subject VARCHAR,
            body VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt_at TIMESTAMP,
            vendor_message_id VARCHAR,
            error VARCHAR,
            queued_at TIMESTAMP NOT NULL,
            sent_at TIMESTAMP,
            delivered_at TIMESTAMP,
            opened_at TIMESTAMP,
            clicked_at TIMESTAMP,
            failed_at TIMESTAMP,
            updated_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE receipts (
            receipt_id VARCHAR NOT NULL,
            vendor_message_id VARCHAR NOT NULL,
            message_id BIGINT NOT NULL,
            campaign_id BIGINT NOT NULL,
            event VARCHAR NOT NULL,
            reason VARCHAR,
            occurred_at TIMESTAMP NOT NULL,
            received_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE vendor_messages (
            message_id BIGINT NOT NULL,
            vendor_message_id VARCHAR NOT NULL,
            campaign_id BIGINT NOT NULL,
            outcome VARCHAR NOT NULL,
            reason VARCHAR,
            accepted_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE vendor_receipt_queue (
            receipt_id VARCHAR NOT NULL,
            copy INTEGER NOT NULL,
            vendor_message_id VARCHAR NOT NULL,
            campaign_id BIGINT NOT NULL,
            event VARCHAR NOT NULL,
            reason VARCHAR,
            occurred_at TIMESTAMP NOT NULL,
            due_at TIMESTAMP NOT NULL,
            attempts INTEGER NOT NULL,
            state VARCHAR NOT NULL,
            last_error VARCHAR
        )""",
    ),
)
