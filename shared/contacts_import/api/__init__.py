"""The HTTP API (contract §4): Powertools routers, the envelope, and the one error mapping."""
