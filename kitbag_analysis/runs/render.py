"""An executed notebook as an offline HTML page: no code, no network request, titled and marked
with the run that made it."""

from __future__ import annotations

from pathlib import Path

from kitbag_analysis import atomic

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render_html(notebook: Path, target: Path, title: str, run_id: str) -> None:
    """Render ``notebook`` to ``target`` with the kitbag_offline template."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["title"] = title
    nb.metadata["kitbag"] = {"run_id": run_id}
    exporter = HTMLExporter(
        template_name="kitbag_offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_markdown=True,  # the narration is for JupyterLab; pages carry their own headings
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    atomic.write_text(target, body)


__all__ = ["render_html"]
