"""Dagster resources: thin, typed wrappers that hand out XGet's core objects."""

from xget_pipelines.resources.control_plane import ControlPlaneResource
from xget_pipelines.resources.lake import LakeResource
from xget_pipelines.resources.pools import AccountPoolResource, ProxyPoolResource
from xget_pipelines.resources.x_api import XApiResource

__all__ = ["AccountPoolResource", "ControlPlaneResource", "LakeResource", "ProxyPoolResource", "XApiResource"]
