"""Dry runs and imports run in a background thread, so the page stays responsive; a fragment shows their progress."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import streamlit as st

from crm_core.ingest.sniff import ImportFileError
from crm_core.permissions import PermissionDenied
from crm_core.store import WorkspaceBusyError, WriteConflictError
from crm_core.validation import ValidationError

log = logging.getLogger(__name__)
_JOBS_KEY = "_crm_import_jobs"
EXPECTED_ERRORS = (ImportFileError, WriteConflictError, WorkspaceBusyError, ValidationError, PermissionDenied)


@dataclass
class ImportJob:
    """One dry run or import running (or finished) in the background."""

    action: str
    signature: str
    started: float = field(default_factory=time.monotonic)
    fraction: float = 0.0
    message: str = "Starting..."
    result: Any = None
    error: str | None = None
    finished: bool = False

    def progress(self, fraction: float, message: str) -> None:
        """The progress callback handed to the core (called from the worker thread)."""
        self.fraction, self.message = fraction, message

    def elapsed(self) -> float:
        """Seconds since the job started."""
        return time.monotonic() - self.started


def _run(job: ImportJob, work: Callable[[Callable[[float, str], None]], Any]) -> None:
    try:
        job.result = work(job.progress)
    except EXPECTED_ERRORS as exc:
        job.error = " ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
    except Exception:  # noqa: BLE001 - a worker must always finish and report, never die silently
        log.exception("import job failed")
        job.error = "The import failed unexpectedly; nothing was written. The server log has the details."
    finally:
        job.finished = True


def start(key: str, action: str, signature: str, work: Callable[[Callable[[float, str], None]], Any]) -> None:
    """Start `work(progress)` in a thread as this file's job (one job per file at a time)."""
    job = ImportJob(action, signature)
    st.session_state.setdefault(_JOBS_KEY, {})[key] = job
    threading.Thread(target=_run, args=(job, work), name=f"import-{action}-{key}", daemon=True).start()


def running(key: str) -> bool:
    """Whether this file has a job still running."""
    job = st.session_state.get(_JOBS_KEY, {}).get(key)
    return job is not None and not job.finished


def take_finished(key: str) -> ImportJob | None:
    """This file's finished job, removed from the list (None while it runs or when there is none)."""
    jobs = st.session_state.get(_JOBS_KEY, {})
    job = jobs.get(key)
    if job is None or not job.finished:
        return None
    del jobs[key]
    return job


@st.fragment(run_every=0.5)
def show_progress(key: str) -> None:
    """A progress bar for this file's running job, refreshed every half second; reruns the page when it ends."""
    job = st.session_state.get(_JOBS_KEY, {}).get(key)
    if job is None:
        return
    if job.finished:
        st.rerun(scope="app")
    verb = {"check": "Checking", "commit": "Importing", "undo": "Undoing"}.get(job.action, "Working")
    message = job.message if job.action != "undo" else "removing and restoring records..."
    st.progress(min(max(job.fraction, 0.0), 1.0), text=f"{verb}: {message} ({job.elapsed():.0f}s)")
    st.caption("You can keep working on other pages: the job goes on and its result is shown here when you come back.")
