"""Where the API is and which key to send: read once from the environment."""

from __future__ import annotations

from typing import ClassVar

from pydantic import field_validator

from contacts_import.settings import EnvironmentSettings

# The local stack's address and its fixed development key (the README: The two commands): the defaults a
# newcomer needs after `make local`, and nothing else.
LOCAL_API_URL = "http://127.0.0.1:3000"
LOCAL_API_KEY = "local-dev-key"


class ClientSettings(EnvironmentSettings):
    """``CONTACTS_API_URL`` and ``CONTACTS_API_KEY``."""

    env_prefix: ClassVar[str] = "CONTACTS_"

    api_url: str = LOCAL_API_URL
    api_key: str = LOCAL_API_KEY
    # CONTACTS_MULTIPART_THRESHOLD: files this large or larger go in parts (contacts_import_cli.multipart).
    multipart_threshold: int = 64 * 1024 * 1024

    @field_validator("api_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("CONTACTS_API_URL must be an http(s) URL")
        return value
