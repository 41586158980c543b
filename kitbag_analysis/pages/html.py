"""HTML for the report pages, rendered from Jinja2 templates (nbconvert's own engine) over a
typed release: the templates lay numbers out; `publication` decided what they are."""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """The page templates, HTML-escaped by default."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def render(template: str, **context: Any) -> str:
    """Render ``<template>.html.j2`` with ``context``."""
    return environment().get_template(f"{template}.html.j2").render(**context)


def figure(svg: bytes, alt: str, caption: str) -> str:
    """An embedded SVG figure with alt text and a caption (no file, no network; crisp at any
    zoom and in print)."""
    data = base64.b64encode(svg).decode("ascii")
    return render("figure", data=data, alt=alt, caption=caption)


__all__ = ["environment", "figure", "render"]
