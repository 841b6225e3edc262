"""The delivery-receipt webhook: a messaging vendor posts signed receipts (one object or an array), applied once."""
from __future__ import annotations

from api.errors import ApiError
from api.registry import MB, Call, endpoint
from crm_core.campaigns.receipt_batching import ReceiptsNotApplied, receive_receipts
from crm_core.campaigns.receipts import EVENTS, ID_LIMIT, REASON_LIMIT
from crm_core.integrations.signing import SCHEME, SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE_SECONDS

MAX_RECEIPTS = 10_000
# Fields are described, not enforced by the schema: a malformed receipt is counted as invalid (with its reason)
# and the others of the post are applied, so one bad receipt does not make the vendor retry a whole batch.
RECEIPT = {"type": "object", "description": "One receipt: what happened to one message at the vendor.", "properties": {
    "receipt_id": {"description": f"Text, 1 to {ID_LIMIT} characters: the vendor's id of this receipt. A receipt id "
                                  "is applied once; posting it again is counted as a duplicate."},
    "vendor_message_id": {"description": "Text: the id the vendor gave the message when it accepted it."},
    "event": {"description": "One of " + ", ".join(EVENTS) + ".", "examples": list(EVENTS)},
    "reason": {"description": f"Text or null: why a message failed (kept up to {REASON_LIMIT} characters)."},
    "occurred_at": {"description": "ISO 8601 date and time of the event (UTC unless an offset is given), "
                                   "not more than a day ahead.", "examples": ["2026-11-02T09:00:05Z"]}}}
BODY = {"oneOf": [RECEIPT, {"type": "array", "items": RECEIPT, "minItems": 1, "maxItems": MAX_RECEIPTS}]}
ANSWER = {"type": "object", "required": ["received", "applied", "duplicates", "unknown", "invalid", "problems"],
          "properties": {
              "received": {"type": "integer", "description": "Receipts in the post."},
              "applied": {"type": "integer", "description": "New receipts recorded; their messages moved on."},
              "duplicates": {"type": "integer", "description": "Receipt ids already applied (nothing changed)."},
              "unknown": {"type": "integer", "description": "Receipts for a message id we never sent (ignored)."},
              "invalid": {"type": "integer", "description": "Malformed receipts (ignored; see problems)."},
              "problems": {"type": "array", "items": {"type": "string"},
                           "description": "Why receipts were invalid (the first 20)."}}}
DESCRIPTION = f"""A messaging vendor posts delivery receipts here: one receipt object, or an array of up to
{MAX_RECEIPTS:,}. No API key: the vendor signs each post with the shared secret an admin finds on the
"API & webhooks" page (tab "Delivery receipts").

Send two headers: `{TIMESTAMP_HEADER}`, the Unix time in seconds when you signed, and
`{SIGNATURE_HEADER}: {SCHEME}=<hex>`, the HMAC-SHA256 of `<timestamp>.<raw body>` (the timestamp, a dot, then
the body bytes exactly as sent) with the secret as the key. Several signatures may be sent comma-separated.
A post whose timestamp is more than {TOLERANCE_SECONDS // 60} minutes old (or ahead) is refused as a replay
(401), as is a missing or wrong signature.

Receipts are applied idempotently: each receipt id counts once, in any order; repeats are counted as
duplicates, and receipts for message ids we never sent are counted as unknown and change nothing. A malformed
receipt is counted as invalid with its reason; the others of the post are still applied. Answer 200 with the
counts; a 5xx means nothing of the post was applied: post it again."""


@endpoint("POST", "/delivery/receipts", "Receive delivery receipts (signed)", "Delivery", body=BODY, response=ANSWER,
          auth="signature", errors=(400, 401, 413, 422, 503), max_body=8 * MB, description=DESCRIPTION)
def post_receipts(call: Call) -> dict:
    """Apply a vendor's signed receipts once each; answer what became of them."""
    receipts = call.body if isinstance(call.body, list) else [call.body]
    try:
        result = receive_receipts(call.store, receipts)
    except ReceiptsNotApplied as exc:
        raise ApiError("unavailable", str(exc)) from exc
    return {"received": result.received, "applied": result.applied, "duplicates": result.duplicates,
            "unknown": result.unknown, "invalid": result.invalid, "problems": list(result.problems)}
