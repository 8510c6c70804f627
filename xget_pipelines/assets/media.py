"""Unstructured data: the media files of collected tweets, stored in the lake under ``media/``."""

import datetime as dt

import dagster as dg

from xget_pipelines.core.media.collect import MediaResult, collect_partition
from xget_pipelines.core.media.registry import TABLE as REGISTRY
from xget_pipelines.partitions import LAKE_WRITE_RETRY, split_partition_key, watch_daily_partitions
from xget_pipelines.resources.lake import LakeResource
from xget_pipelines.resources.media import MediaResource
from xget_pipelines.resources.pools import ProxyPoolResource

_COUNTS = (
    "rows",
    "files",
    "downloaded",
    "deduplicated",
    "already_stored",
    "skipped_too_large",
    "failed",
    "bytes",
    "pointed",
)


def _cell(value: object, width: int) -> str:
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def failures_markdown(failures: list[dict], limit: int = 20) -> str:
    lines = ["| url | attempts | error |", "|---|---|---|"]
    lines += [
        f"| {_cell(f['url'], 80)} | {f['attempts']} | {_cell(f['error'], 120)} |" for f in failures[:limit]
    ]
    if len(failures) > limit:
        lines.append(f"| … {len(failures) - limit} more in `{REGISTRY}` (status = 'failed') | | |")
    return "\n".join(lines)


@dg.asset(
    deps=["cleaned_media"],
    partitions_def=watch_daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=LAKE_WRITE_RETRY,
    group_name="media",
    kinds={"deltalake"},
    automation_condition=dg.AutomationCondition.eager(),
    metadata={"table": REGISTRY},
)
def x_media(
    context: dg.AssetExecutionContext, lake: LakeResource, proxy_pool: ProxyPoolResource, media: MediaResource
) -> dg.MaterializeResult:
    """The photos, videos (the best mp4 variant under the size limit) and GIFs of the partition's tweets,
    downloaded through the proxy pool into ``<lake>/media/<sha[:2]>/<sha>.<ext>`` (content-addressed: the
    same file is stored once), recorded in ``cleaned/media_objects`` (one row per source URL: status,
    attempts, error) and pointed at by ``cleaned_media.object_path``. Failed files are retried and
    recorded, never fatal; a re-run fetches only what is not stored yet. Off when ``XGET_MEDIA_DOWNLOAD``
    is false."""
    if not media.enabled:
        context.log.info("media downloads are off (XGET_MEDIA_DOWNLOAD=false): nothing fetched")
        note = "media downloads are off (XGET_MEDIA_DOWNLOAD=false); nothing was fetched"
        return dg.MaterializeResult(metadata={"enabled": False, "note": note})
    config, the_lake, pool = media.fetch_config(), lake.lake(), proxy_pool.pool()
    total, routes, failures = MediaResult(), {}, []
    for partition in context.partition_keys:
        day, key = split_partition_key(partition)
        result = collect_partition(
            the_lake,
            dt.date.fromisoformat(day),
            key,
            config,
            pool,
            concurrency=media.concurrency,
            timeout_s=media.timeout_s,
        )
        for name in _COUNTS:
            setattr(total, name, getattr(total, name) + getattr(result, name))
        for via, files in result.routes.items():
            routes[via] = routes.get(via, 0) + files
        failures += result.failures
        total.registry_version = result.registry_version or total.registry_version
        if result.failed:
            context.log.warning(
                f"{key} {day}: {result.failed} media file(s) failed; recorded in {REGISTRY}, "
                "retried by the next run"
            )
    metadata = {name: getattr(total, name) for name in _COUNTS}
    metadata |= {
        "enabled": True,
        "max_bytes": config.max_bytes,
        "routes": dg.MetadataValue.json(routes),
        "partitions": len(context.partition_keys),
        "registry_version": total.registry_version or 0,
    }
    if failures:
        metadata["failures"] = dg.MetadataValue.md(failures_markdown(failures))
    return dg.MaterializeResult(metadata=metadata)
