"""The rows of a Milvus index and the filters on them.

The chunk collection `<name>`, which searches scan:

    a chunk               chunk_id as in the FAISS store ("doc#3"), its text for BM25 (a BM25
                          Function fills `sparse`), its unit vector (cosine), its record

The records collection `<name>_records`, by kind:

    kind 1, a document    its record (title, date, hash, ...) and its cleaned text in `body`,
                          split over parts when longer than one VARCHAR holds
    kind 2, the state     the index's State (index/stores/milvus/client.py) in `record`, its serial
                          in `part`; a write commits by inserting one
    kind 3, a lease       a writer's claim on the index (index/stores/milvus/write.py WriterLease)

Every chunk and document row carries `gen`, the write that inserted it; the primary key is
"<chunk id>@<gen>", so a document's old and new rows never share a key. Milvus needs a vector
field in every collection: records carry a 2-dimension placeholder that nothing searches.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from index.stores.contract import HNSW_EF_CONSTRUCTION, HNSW_M  # the same graph as the FAISS HNSW index
from index.stores.milvus.client import (
    DOCUMENT,
    LEASE,
    STATE,
    MilvusLocation,
    Row,
    State,
    forget_loaded,
    quoted,
)
from index.types import Chunk, Document, period_bounds

if TYPE_CHECKING:
    from pymilvus import MilvusClient

MAX_VARCHAR = 65_535  # bytes; Milvus's largest VARCHAR
BODY_PART_CHARS = 16_000  # a document's text in parts of at most 4 x 16,000 = 64,000 UTF-8 bytes
PLACEHOLDER = [1.0, 0.0]  # the records collection's vector: Milvus needs one; nothing searches it


def filter_expression(
    doc_ids: frozenset[str] | None, published_after: str | None, published_before: str | None
) -> str | None:
    """A Milvus scalar filter with the meaning of rag.types.Filters.admits (None: no filter)."""
    parts = []
    if doc_ids is not None:
        parts.append(f"doc_id in {quoted(sorted(doc_ids))}")
    if published_after or published_before:
        parts.append("published_first >= 0")  # an undated document fails any date bound
        if published_after:
            parts.append(f"published_last >= {date_number(published_after)}")
        if published_before:
            parts.append(f"published_first <= {date_number(published_before)}")
    return " and ".join(parts) if parts else None


def date_number(iso: str) -> int:
    """20190315 for "2019-03-15" (a month or year date keeps its missing parts as 00)."""
    digits = iso.replace("-", "")
    return int(digits.ljust(8, "0"))


def document_rows(document: Document, gen: int) -> list[Row]:
    """The records rows of one document: its record on part 0, its text split over parts."""
    text = document.text
    parts = [text[i : i + BODY_PART_CHARS] for i in range(0, len(text), BODY_PART_CHARS)] or [""]
    record = {k: v for k, v in asdict(document).items() if k != "text"}
    return [
        _record_row(
            DOCUMENT,
            f"{document.doc_id}@{gen}/d{number}",
            number,
            gen,
            {**record, "parts": len(parts)} if number == 0 else {},
            doc_id=document.doc_id,
            body=body,
        )
        for number, body in enumerate(parts)
    ]


def state_row(state: State) -> Row:
    """The row that makes `state` the index's state (the newest serial wins)."""
    return _record_row(STATE, f"state@{state.serial}", state.serial, state.committed, asdict(state))


def lease_row(key: str, lease: Row) -> Row:
    """A writer's lease row; one per writer, replaced on renewal."""
    return _record_row(LEASE, lease_id(key), 0, 0, lease)


def lease_id(key: str) -> str:
    return f"lease@{key}"


def _record_row(
    kind: int, key: str, part: int, gen: int, record: Row, doc_id: str = "", body: str = ""
) -> Row:
    return {
        "id": key,
        "kind": kind,
        "gen": gen,
        "part": part,
        "doc_id": doc_id,
        "body": body,
        "record": record,
        "vector": PLACEHOLDER,
    }


def chunk_row(document: Document, chunk: Chunk, text: str, vector: np.ndarray, gen: int) -> Row:
    """The row of one chunk: `text` is what BM25 indexes (the chunk headed by its title)."""
    first, last = _published_numbers(document.published)
    return {
        "id": f"{chunk.chunk_id}@{gen}",
        "gen": gen,
        "doc_id": document.doc_id,
        "published_first": first,
        "published_last": last,
        "text": _clip_utf8(text),
        "record": asdict(chunk),
        "vector": np.asarray(vector, dtype=np.float32).tolist(),
    }


def _published_numbers(published: str | None) -> tuple[int, int]:
    """(first, last) day of the publication period as yyyymmdd numbers; (-1, -1) when undated."""
    if not published:
        return -1, -1
    first, last = period_bounds(published)
    return date_number(first), date_number(last)


def _clip_utf8(text: str) -> str:
    data = text.encode("utf-8")
    return text if len(data) <= MAX_VARCHAR else data[:MAX_VARCHAR].decode("utf-8", "ignore")


def dense_index(location: MilvusLocation) -> Row:
    """The vector index: HNSW as the FAISS store's, except on milvus-lite 2.5 (local mode builds
    only FLAT, IVF_FLAT and AUTOINDEX; FLAT is exact, so recall is 1)."""
    if location.is_compiled_lite:
        return {"index_type": "FLAT", "metric_type": "COSINE"}
    params = {"M": HNSW_M, "efConstruction": HNSW_EF_CONSTRUCTION}
    return {"index_type": "HNSW", "metric_type": "COSINE", "params": params}


def create_collection(client: MilvusClient, location: MilvusLocation, dim: int) -> None:
    """The index's two collections: chunks (scalar fields for filters, cosine vectors: HNSW, or
    exact FLAT on milvus-lite 2.5, whose local mode builds no HNSW; a BM25 Function) and records."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("gen", DataType.INT64)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
    schema.add_field("published_first", DataType.INT64)
    schema.add_field("published_last", DataType.INT64)
    schema.add_field(
        "text", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, enable_match=True
    )
    schema.add_field("record", DataType.JSON)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["text"],
            output_field_names=["sparse"],
        )
    )
    index_params = client.prepare_index_params()
    index_params.add_index("vector", **dense_index(location))
    index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    for name in ("doc_id", "gen"):
        index_params.add_index(name, index_type="INVERTED")
    client.create_collection(
        location.collection, schema=schema, index_params=index_params, consistency_level="Strong"
    )
    create_records_collection(client, location)


def create_records_collection(client: MilvusClient, location: MilvusLocation) -> None:
    """The records collection: documents, state rows and leases. It needs nothing of Milvus 2.5, so
    it also runs on a 2.3 server (tests/test_milvus_server.py), without the INVERTED scalar indexes
    that 2.3 lacks: there filters scan the records instead."""
    from pymilvus import DataType
    from pymilvus.exceptions import MilvusException

    records = client.create_schema(auto_id=False, enable_dynamic_field=False)
    records.add_field("id", DataType.VARCHAR, is_primary=True, max_length=1024)
    records.add_field("kind", DataType.INT64)
    records.add_field("gen", DataType.INT64)
    records.add_field("part", DataType.INT64)
    records.add_field("doc_id", DataType.VARCHAR, max_length=512)
    records.add_field("body", DataType.VARCHAR, max_length=MAX_VARCHAR)
    records.add_field("record", DataType.JSON)
    records.add_field("vector", DataType.FLOAT_VECTOR, dim=len(PLACEHOLDER))
    for scalar_indexes in (True, False):
        index_params = client.prepare_index_params()
        index_params.add_index("vector", index_type="FLAT", metric_type="L2")
        for name in ("doc_id", "gen", "kind") if scalar_indexes else ():
            index_params.add_index(name, index_type="INVERTED")
        try:
            client.create_collection(
                location.records, schema=records, index_params=index_params, consistency_level="Strong"
            )
            return
        except MilvusException as exc:
            if not scalar_indexes or "INVERTED" not in str(exc):
                raise
            client.drop_collection(location.records)  # Milvus before 2.4: again, without them


def drop_collections(client: MilvusClient, location: MilvusLocation) -> None:
    """Drop the index's two collections."""
    for name in (location.collection, location.records):
        if client.has_collection(name):
            client.drop_collection(name)
    forget_loaded(location)
