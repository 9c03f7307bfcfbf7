"""Data Docs pages built after the validations that link to them, in a background thread.

A validation's page, its suite's page and the site index take longer to render than the
validation itself (0.2 s against 0.15 s per source on a daily run, eight sources a day), and an
asset check only needs the page's address, which is known before the page exists. So the raw
step validates every source first, then hands the pages over (`PendingDataDocs.build_in_background`):
they are rendered together, with the index once, while the run goes on to the dbt step, which
mostly waits on dbt's own process. The thread is not a daemon: the process does not end before
the pages are written, and `wait_for_data_docs` waits for them within a process.

Great Expectations' file context is not safe to use from two threads at once: every use of it
here holds `GX_LOCK`, the validations included (see gx_validation).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

GX_LOCK = threading.RLock()

_builders: list[threading.Thread] = []
_builders_lock = threading.Lock()


@dataclass
class PendingDataDocs:
    """Pages to build for validations made in one context (validation result and suite ids)."""

    identifiers: list[Any] = field(default_factory=list)
    context: Any = None

    def add(self, context: Any, identifiers: list[Any]) -> None:
        if self.context is not None and context is not self.context:
            raise ValueError("pending Data Docs belong to one GX context")
        self.context = context
        self.identifiers.extend(identifiers)

    def build_in_background(self) -> threading.Thread | None:
        """Start building the pages (and the index, once); the thread, or None if none are due."""
        if not self.identifiers:
            return None
        context, identifiers = self.context, list(self.identifiers)
        self.identifiers.clear()
        thread = threading.Thread(
            target=build_data_docs,
            args=(context, identifiers),
            name="datatrendz-data-docs",
            daemon=False,
        )
        with _builders_lock:
            _builders[:] = [t for t in _builders if t.is_alive()]
            _builders.append(thread)
        thread.start()
        return thread


def build_data_docs(context: Any, identifiers: list[Any]) -> None:
    """Build the pages of `identifiers` and the site index. A page that fails to render is
    logged, never raised: the validation it shows has been recorded and judged already."""
    try:
        with GX_LOCK:
            context.build_data_docs(resource_identifiers=_unique(identifiers), build_index=True)
    except Exception:
        logger.exception("building the Data Docs of %d validation(s) failed", len(identifiers))


def wait_for_data_docs() -> None:
    """Return once every page handed to a background build has been written."""
    with _builders_lock:
        pending = list(_builders)
    for thread in pending:
        thread.join()


def _unique(identifiers: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for identifier in identifiers:
        if identifier not in seen:
            seen.append(identifier)
    return seen
