"""The SecretBox this installation uses, from settings (``XGET_SECRET_KEY`` or ``<XGET_HOME>/secret.key``)."""

from __future__ import annotations

from xget_pipelines.core.secrets import SecretBox


def configured_secret_box() -> SecretBox:
    from xget_pipelines.settings import get_settings

    settings = get_settings()
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    return SecretBox.from_key_or_file(key, settings.home)
