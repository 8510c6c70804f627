"""How media are downloaded: on or off, the size limit, where X's media URLs are fetched from, retries."""

import json

import dagster as dg

from xget_pipelines.core.media.fetch import FetchConfig


class MediaResource(dg.ConfigurableResource):
    """Settings of the ``x_media`` asset (``XGET_MEDIA_*``): ``enabled`` (off: the asset fetches nothing),
    ``max_bytes`` (the largest file kept: the best video variant under it is chosen), ``url_map_json``
    (JSON of URL prefix -> replacement: X's media hosts -> the emulator or a mirror), ``attempts`` per
    file and the first retry's ``backoff_s`` (doubled each time), the HTTP ``timeout_s`` and how many
    files are fetched at once (``concurrency``)."""

    enabled: bool = True
    max_bytes: int = 16 * 1024 * 1024
    url_map_json: str = "{}"
    attempts: int = 3
    backoff_s: float = 1.0
    timeout_s: float = 60.0
    concurrency: int = 4

    def fetch_config(self) -> FetchConfig:
        try:
            url_map = json.loads(self.url_map_json or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"MediaResource.url_map_json is not JSON ({exc}); set XGET_MEDIA_URL_MAP to "
                'an object such as {"https://pbs.twimg.com/": "https://mirror.example/pbs/"}'
            ) from exc
        if not isinstance(url_map, dict):
            raise ValueError("MediaResource.url_map_json must be a JSON object of URL prefix -> replacement")
        return FetchConfig(
            max_bytes=self.max_bytes, url_map=url_map, attempts=self.attempts, backoff_s=self.backoff_s
        )
