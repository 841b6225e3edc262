"""What starts and stops with the server: the workspace, its delivery worker, the facts refresher and the webhook
dispatcher (it posts the queued outgoing webhook deliveries)."""
from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from starlette.concurrency import run_in_threadpool

from api import context
from crm_core import config
from crm_core.campaigns.delivery import background_worker
from crm_core.integrations.webhook_delivery import background_dispatcher, stop_background_dispatchers
from crm_core.segments import facts

log = logging.getLogger(__name__)


def _open() -> None:
    store = context.store()
    facts.keep_fresh(store)
    if config.delivery_worker_enabled():
        background_worker(store)
    background_dispatcher(store)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    """Open the workspace before the first request (so the API works with no dashboard session open)."""
    await run_in_threadpool(_open)
    yield {}
    await run_in_threadpool(stop_background_dispatchers)
