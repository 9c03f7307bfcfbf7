"""Data Docs page views that keep their compiled Jinja templates between builds.

GX makes a new Jinja environment for every Data Docs build, so each validation recompiled the
same page templates: 0.3 s of the 0.5 s a validation page with its index took, eight times in a
daily run. These views are GX's own with a bytecode cache on that environment (Jinja's
per-user cache folder in the temp directory; keyed by template source and Python version), so
a template is compiled once per machine. The pages they render are the same.

The GX project names them in its site config (`gx_validation.data_docs_site`), so building its
Data Docs needs this package importable, as the pipeline always has it.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache, FileSystemBytecodeCache

logger = logging.getLogger(__name__)


@cache
def template_cache() -> BytecodeCache | None:
    """Jinja's file cache in its default folder; None (compile every time) if that folder is
    missing and cannot be made safely, e.g. owned by another user."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError) as error:
        logger.info("Data Docs templates are compiled each build: no cache folder (%s)", error)
        return None


class _CachedTemplates:
    """Sets the template cache on the Jinja environment GX's view has just made."""

    env: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = template_cache()


class CachedPageView(_CachedTemplates, DefaultJinjaPageView):
    """GX's page view (validation and suite pages) with compiled templates cached."""


class CachedIndexPageView(_CachedTemplates, DefaultJinjaIndexPageView):
    """GX's index page view with compiled templates cached."""
