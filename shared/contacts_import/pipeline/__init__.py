"""The pure import pipeline: bytes -> text -> records -> mapped fields -> contacts or row errors -> outcomes.

Nothing in here knows about AWS: the processor, the offline validator and the tests all run it.
"""
