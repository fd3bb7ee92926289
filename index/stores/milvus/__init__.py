"""The Milvus store: one chunk collection and one records collection per index (docs/scale.md).

client.py reaches a Milvus and reads the index's state, rows.py makes its collections and rows,
store.py searches one committed generation (documents.py caches its records), write.py writes
the next under lease.py's lease.
"""
