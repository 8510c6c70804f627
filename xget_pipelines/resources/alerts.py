"""Where XGet's alerts go: a Slack-compatible webhook (``XGET_ALERT_WEBHOOK_URL``), or the log only."""

import dagster as dg
from pydantic import Field

from xget_pipelines.core.alerts import post_webhook


class AlertsResource(dg.ConfigurableResource):
    """The webhook the pool health and run failure sensors post to. The URL is a secret (it carries the
    webhook's token): pass it as ``dg.EnvVar("XGET_ALERT_WEBHOOK_URL")``, so the UI shows only its name."""

    webhook_url: str = Field(default="", description="Slack-compatible webhook URL (a secret); empty: none.")
    attempts: int = Field(
        default=3, description="Tries per message before the alert counts as not delivered."
    )
    backoff_s: float = Field(default=1.0, description="Wait before the second try, doubled after each.")

    def post(self, text: str) -> bool | None:
        """Send ``text``: True once the webhook accepted it, False when it did not after retries, None when
        there is no webhook to send to."""
        if not self.webhook_url:
            return None
        return post_webhook(self.webhook_url, text, attempts=self.attempts, backoff_s=self.backoff_s)
