"""The default store: FAISS vectors and bm25s BM25 in version folders on local disk.

store.py loads and saves a version (layout in its docstring), build.py writes one for a
WriteRequest, vectors.py and bm25.py are its dense and lexical halves.
"""
