import dagster as dg
from pydantic import Field

from xget_pipelines.core.redact import masked_url
from xget_pipelines.core.sinks.events import EventPublisher, publisher_for


class LakeEventsResource(dg.ConfigurableResource):
    """Where lake events go (``XGET_EVENTS_URL``, ``XGET_EVENTS_TOPIC``): RabbitMQ for ``amqp://``, Kafka for
    ``kafka://``. The URL is a secret (it may carry a password): pass it as ``dg.EnvVar("XGET_EVENTS_URL")``
    and show it only through ``display_url()``."""

    url: str = Field(
        description="amqp://user:pass@host:5672/vhost or kafka://host:9092[,host2:9092] (a secret)."
    )
    topic: str = Field(default="xget.lake", description="Kafka topic, or RabbitMQ topic exchange.")
    timeout_s: float = Field(default=10.0, description="How long a tick waits for the broker to confirm.")

    def display_url(self) -> str:
        return masked_url(self.url)

    def publisher(self) -> EventPublisher:
        return publisher_for(self.url, self.topic, self.timeout_s)
