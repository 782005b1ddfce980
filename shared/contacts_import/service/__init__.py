"""The use cases: create an import, process a file, report on jobs, lists and contacts."""
