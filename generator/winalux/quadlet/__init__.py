"""Quadlet output of the workspace model: rendering, self-check, writing and dry run."""

from winalux.quadlet.render import Render, RenderError, render

__all__ = ["Render", "RenderError", "render"]
