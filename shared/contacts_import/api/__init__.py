"""The HTTP API (docs/api.md): Powertools routers, the envelope, and the one error mapping."""
