"""The search server the sink fills and the API searches: Elasticsearch 8/9 or OpenSearch."""

import dagster as dg

from xget_pipelines.core.sinks.search import SearchSink


class SearchIndexResource(dg.ConfigurableResource):
    """Where the tweets and users indexes live (``url``, aliases), which flavour to speak (``compat``: auto,
    elasticsearch or opensearch), basic-auth credentials (pass the password as ``dg.EnvVar``: Dagster then
    shows the variable's name, never its value) and how many documents go in one bulk request."""

    url: str
    tweets_alias: str = "xget-tweets"
    users_alias: str = "xget-users"
    compat: str = "auto"
    username: str = ""
    password: str = ""
    batch_size: int = 2000
    timeout_s: float = 30.0
    max_retries: int = 2  # per request (timeouts, connection errors); the asset's RetryPolicy is above it

    def index(self) -> SearchSink:
        return SearchSink(
            self.url,
            tweets_alias=self.tweets_alias,
            users_alias=self.users_alias,
            compat=self.compat,
            username=self.username,
            password=self.password or None,
            batch_size=self.batch_size,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
        )
