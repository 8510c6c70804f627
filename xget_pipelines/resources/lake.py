import json

import dagster as dg

from xget_pipelines.core.lake.delta import Lake


class LakeResource(dg.ConfigurableResource):
    """The Delta lakehouse root (a folder, or ``s3://bucket/prefix`` with storage options)."""

    uri: str
    storage_options_json: str = "{}"

    def lake(self) -> Lake:
        return Lake(self.uri, json.loads(self.storage_options_json or "{}"))
