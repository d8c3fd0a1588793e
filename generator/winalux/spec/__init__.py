"""What a workspace is: the model, its strict loading and validation, and derived names."""

from winalux.spec.model import PortMapping, Repository, Sidecar, Workspace
from winalux.spec.names import WorkspaceNames
from winalux.spec.problems import Problem, ValidationFailed
from winalux.spec.repository import load_repository

__all__ = [
    "PortMapping",
    "Problem",
    "Repository",
    "Sidecar",
    "ValidationFailed",
    "Workspace",
    "WorkspaceNames",
    "load_repository",
]
