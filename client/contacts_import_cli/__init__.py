"""``contacts-import``: the command-line client of the contacts import service (the README's tour).

``upload``, ``status`` and ``errors`` talk to the HTTP API; ``validate`` runs the service's own
reading code over a local file, offline; ``keys create`` writes a new API key's hash into the
keys table of the local stack or of a deployed stack.
"""
