"""The media store: the photos, videos and GIFs of collected tweets, kept in the lake as objects.

- ``targets``: what to fetch for a cleaned media row (photo URL, video variants best first, GIF mp4);
- ``fetch``: choosing the variant under the size limit, streaming it while hashing, retries;
- ``proxy_route``: which way a download goes: through the proxy pool, as the X client goes (direct when
  the pool is empty);
- ``store``: ``<lake root>/media/<sha[:2]>/<sha>.<ext>``, local or object store, deduplicated by hash;
- ``registry``: ``cleaned/media_objects``, one row per source URL (what became of it);
- ``pointers``: the ``object_path`` column of ``cleaned/media``;
- ``collect``: all of it for one partition.

Kept free of imports here: ``core/x/clean.py`` needs ``pointers`` without the HTTP stack.
"""
