"""Routes that answer as the import APIs this service was designed from (docs/api.md,
Compatibility): each translates their request into our ImportOptions and our job into their answer,
and speaks their dialect for errors. The import is ours, the same as POST /imports runs."""
