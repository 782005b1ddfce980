"""API keys: how they are made, hashed, stored and checked."""
