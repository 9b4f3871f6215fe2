"""A persistent index in one DuckDB file: "where else did this text appear?"

Tables::

    meta          key, value                      settings the index was built with, a generation counter
    documents     seq, id, text, date, source, title, url, path, meta (JSON), content_hash, tokens
    fingerprints  hash, doc                       winnowed fingerprints (``doc`` = documents.seq)
    pairs         a, b, a_id, b_id, relation, words, pair (JSON, the DESIGN.md pair object,
                  its sentence derivation included)

``Index.add`` is incremental: the new documents are fingerprinted, their stored neighbours are
fetched from ``fingerprints`` (one join on the new hashes), candidates follow the rules of
``candidates.py`` (a fingerprint held by more than ``max_df`` documents is boilerplate and makes
no pair; a pair needs ``min_shared`` fingerprints), and only pairs with a new document are
aligned. Nothing stored is recomputed. One ``add`` is one transaction: a process killed midway
leaves the index as it was. Writers take an exclusive lock file (``FILE.lock``, ``fcntl``)
and wait for it up to ``lock_timeout`` seconds; DuckDB itself allows one writing process.

``Index.query_text`` looks a text up: its fingerprints' postings come back in one SQL query,
the stored documents sharing the most fingerprints are aligned (at most ``limit``), and the
matches come back with relation, passages, edits and derivation (``compare_prepared``).

``Index.derivation_of`` is a stored document's own derivation, as a scan's ``documents.jsonl``
gives it (``own_derivation``): the union of its derived sentences across its stored pairs whose
direction names its source. A pair stored by a copytrace from before derivations has none in its
JSON: it is computed from the two stored texts when the pair is read (``Index._loaded``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from .cluster import STRONG, Edges, components, families
from .derive import NO_SOURCE, SourceSpans, document_derivation
from .errors import StoreError
from .genealogy import Genealogy
from .normalize import tokenize
from .pipeline import Prepared, compare_prepared, doc_fingerprints, prepare_many
from .pipeline import derivation as pair_derivation
from .relate import is_wire_original, parse_date, wire_agencies
from .types import Derivation, Document, Family, Pair, Settings
from .write import dumps

SCHEMA_VERSION = 1
# settings that change what is stored (fingerprints, pairs): an index keeps the ones it was built with
STORED_SETTINGS = (
    "ngram",
    "min_words",
    "min_shared",
    "window",
    "max_df",
    "max_gap",
    "near_duplicate",
    "contains",
    "date_window_days",
    "exclude_same_source",
    "agencies",
)
QUERY_LIMIT = 20

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS documents (
    seq BIGINT NOT NULL, id VARCHAR NOT NULL, text VARCHAR NOT NULL, date VARCHAR, source VARCHAR,
    title VARCHAR, url VARCHAR, path VARCHAR, meta VARCHAR, content_hash VARCHAR NOT NULL,
    tokens INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprints (hash UBIGINT NOT NULL, doc BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS pairs (
    a BIGINT NOT NULL, b BIGINT NOT NULL, a_id VARCHAR NOT NULL, b_id VARCHAR NOT NULL,
    relation VARCHAR NOT NULL, words INTEGER NOT NULL, pair VARCHAR NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS documents_seq ON documents (seq);
CREATE INDEX IF NOT EXISTS documents_id ON documents (id);
"""

_DOC_COLUMNS = "seq, id, text, date, source, title, url, path, meta"


def content_hash(text: str) -> str:
    """SHA-256 of the text as stored (hex)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Match:
    """A stored document sharing text with a query: the pair (query is ``a``) and shared fingerprints."""

    doc: Document
    pair: Pair
    shared: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "document": self.doc.to_dict(),
            "shared_fingerprints": self.shared,
            "pair": self.pair.to_dict(),
        }


@dataclass
class AddStats:
    """What one ``Index.add`` did."""

    added: int = 0
    replaced: int = 0
    unchanged: int = 0
    candidates: int = 0
    pairs: int = 0
    seconds: float = 0.0
    relations: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "candidates": self.candidates,
            "pairs": self.pairs,
            "relations": dict(sorted(self.relations.items())),
            "seconds": round(self.seconds, 3),
        }


def _row_doc(row: tuple[Any, ...]) -> Document:
    _seq, doc_id, text, date, source, title, url, path, meta = row
    return Document(doc_id, text, date, source, title, url, path, json.loads(meta) if meta else {})


def _meta_json(doc: Document) -> str | None:
    return json.dumps(doc.meta, sort_keys=True, ensure_ascii=False, default=str) if doc.meta else None


@contextmanager
def write_lock(path: Path, timeout: float) -> Iterator[None]:
    """Exclusive lock on ``path`` (fcntl); waits up to ``timeout`` seconds, then raises StoreError."""
    lock_path = Path(str(path) + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{lock_path}: cannot create the index lock file ({exc.strerror})") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                    raise StoreError(
                        f"{path}: another process (pid {holder}) is writing this index; waited {timeout:g} s "
                        "for it to finish. Try again later or give a longer --lock-timeout"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _connect(path: Path, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file; a lock held by another process is waited for up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise StoreError(f"{path}: cannot open the index ({message})") from None
            if time.monotonic() >= deadline:
                mode = "read" if read_only else "write"
                raise StoreError(
                    f"{path}: the index is open in another process, so it cannot be opened to {mode} "
                    f"(waited {timeout:g} s). DuckDB allows one writing process or several readers: stop "
                    "the other process (copytrace serve, index add) and try again"
                ) from None
            time.sleep(0.05)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: not a copytrace index or damaged ({exc})") from None


class Index:
    """A persistent index in one DuckDB file.

    >>> ix = Index("news.duckdb")                          # doctest: +SKIP
    >>> ix.add([Document("a1", text)])                     # doctest: +SKIP
    >>> [m.pair.relation for m in ix.query_text(other)]    # doctest: +SKIP

    ``read_only=True`` opens an existing index for queries; several processes may read at once.
    ``settings`` apply when the index is created; an existing index keeps its own and a
    conflicting value raises ``StoreError``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        settings: Settings | None = None,
        *,
        read_only: bool = False,
        lock_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.lock_timeout = lock_timeout
        if read_only and not self.path.exists():
            raise StoreError(
                f"{self.path}: no such index; create it with `copytrace index add INPUT --index FILE`"
            )
        self._local = threading.local()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._families: tuple[int, list[Family]] | None = None
        self._reprints: tuple[int, Reprints] | None = None
        self._overview: tuple[int, dict[str, Any]] | None = None
        self._posting_cache: tuple[int, float, np.ndarray, np.ndarray] | None = None
        self._cache_lock = threading.Lock()
        self.settings = self._open(settings)

    # ------------------------------------------------------------ connection and settings

    def _open(self, requested: Settings | None) -> Settings:
        if self.read_only:
            self._con = _connect(self.path, True, self.lock_timeout)
            stored = self._stored_settings(self._con)
            if stored is None:
                raise StoreError(f"{self.path}: not a copytrace index (no settings stored)")
            return stored
        # a writer opens the file only while it holds the lock (see ``_writing``)
        with write_lock(self.path, self.lock_timeout):
            con = _connect(self.path, False, self.lock_timeout)
            try:
                stored = self._stored_settings(con) if self._has_meta(con) else None
                if stored is None:
                    s = requested or Settings()
                    con.execute("BEGIN TRANSACTION")
                    con.execute(_DDL)
                    con.execute(
                        "INSERT INTO meta VALUES ('schema', ?), ('settings', ?), ('generation', '0')",
                        [str(SCHEMA_VERSION), json.dumps(s.to_dict(), sort_keys=True)],
                    )
                    con.execute("COMMIT")
                    return s
                return stored
            finally:
                con.close()

    @staticmethod
    def _has_meta(con: duckdb.DuckDBPyConnection) -> bool:
        row = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()
        return bool(row and row[0])

    def _stored_settings(self, con: duckdb.DuckDBPyConnection) -> Settings | None:
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        except duckdb.CatalogException:
            return None
        if row is None:
            return None
        values = json.loads(row[0])
        return Settings(**{k: v for k, v in values.items() if k in Settings.__dataclass_fields__})

    def check_settings(self, requested: Settings) -> Settings:
        """The index's settings with ``requested``'s resource options; StoreError on a stored-setting conflict."""
        default = Settings()
        for name in STORED_SETTINGS:
            want, have = getattr(requested, name), getattr(self.settings, name)
            if want != getattr(default, name) and want != have:
                raise StoreError(
                    f"{self.path}: the index was built with {name}={have!r}; got {name}={want!r}. "
                    "Use the index's value or build a new index"
                )
        return self.settings.replace(workers=requested.workers, batch_size=requested.batch_size)

    def _reader(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cur", None)
        if cur is None:
            if self._con is None:
                self._con = _connect(self.path, True if self.read_only else False, self.lock_timeout)
            cur = self._con.cursor()
            self._local.cur = cur
        return cur

    def close(self) -> None:
        self._posting_cache = None
        if self._con is not None:
            self._con.close()
            self._con = None
        self._local = threading.local()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def generation(self) -> int:
        """Increases with every committed ``add``; readers use it to refresh caches."""
        row = self._reader().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # ------------------------------------------------------------ writing

    def add(
        self,
        docs: Iterable[Document],
        *,
        replace: bool = False,
        progress: Any = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> AddStats:
        """Add documents in one transaction; each new one is matched against the stored ones and the
        other new ones. An id already stored is an error unless ``replace``."""
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only; cannot add documents")
        started = time.perf_counter()
        stats = AddStats()
        self.close()  # the write connection below is the only one this process holds
        with write_lock(self.path, self.lock_timeout):
            con = _connect(self.path, False, self.lock_timeout)
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    self._add_all(con, docs, replace, stats, progress, on_batch)
                    con.execute(
                        "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) WHERE key = 'generation'"
                    )
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            except duckdb.Error as exc:
                raise StoreError(
                    f"{self.path}: writing the index failed ({exc}); the index is unchanged"
                ) from None
            finally:
                con.close()
        stats.seconds = time.perf_counter() - started
        return stats

    def _add_all(
        self,
        con: duckdb.DuckDBPyConnection,
        docs: Iterable[Document],
        replace: bool,
        stats: AddStats,
        progress: Any,
        on_batch: Callable[[int], None] | None,
    ) -> None:
        s = self.settings
        row = con.execute("SELECT coalesce(max(seq) + 1, 0) FROM documents").fetchone()
        next_seq = int(row[0]) if row else 0
        seen: set[str] = set()
        task = progress.add_task("index add", total=None) if progress is not None else None
        batch: list[Document] = []

        def flush() -> None:
            nonlocal next_seq
            next_seq = self._add_batch(con, batch, next_seq, replace, stats)
            if progress is not None:
                progress.advance(task, len(batch))
            if on_batch is not None:
                on_batch(len(batch))
            batch.clear()

        for doc in docs:
            if doc.id in seen:
                raise StoreError(
                    f"{self.path}: document id {doc.id!r} appears twice in the input; ids must be unique"
                )
            seen.add(doc.id)
            batch.append(doc)
            if len(batch) >= s.batch_size:
                flush()
        if batch:
            flush()

    def _add_batch(
        self,
        con: duckdb.DuckDBPyConnection,
        docs: list[Document],
        first_seq: int,
        replace: bool,
        stats: AddStats,
    ) -> int:
        s = self.settings
        ids = pa.array([d.id for d in docs], pa.string())
        existing = {
            r[0]: (r[1], r[2])
            for r in con.execute(
                "SELECT d.id, d.seq, d.content_hash FROM documents d JOIN (SELECT unnest(?::VARCHAR[]) AS id) n "
                "USING (id)",
                [ids.to_pylist()],
            ).fetchall()
        }
        hashes = [content_hash(d.text) for d in docs]
        if existing and not replace:
            first = next(d.id for d in docs if d.id in existing)
            raise StoreError(
                f"{self.path}: document id {first!r} is already in the index "
                f"({len(existing)} of this batch are); pass --replace to replace them"
            )
        keep: list[int] = []
        drop: list[int] = []
        for k, d in enumerate(docs):
            old = existing.get(d.id)
            if old is not None and old[1] == hashes[k] and self._same_doc(con, old[0], d):
                stats.unchanged += 1  # same text and metadata: nothing to redo
                continue
            if old is not None:
                drop.append(old[0])
                stats.replaced += 1
            keep.append(k)
        if drop:
            con.execute("DELETE FROM fingerprints WHERE doc IN (SELECT unnest(?::BIGINT[]))", [drop])
            con.execute(
                "DELETE FROM pairs WHERE a IN (SELECT unnest($1::BIGINT[])) OR b IN (SELECT unnest($1::BIGINT[]))",
                [drop],
            )
            con.execute("DELETE FROM documents WHERE seq IN (SELECT unnest(?::BIGINT[]))", [drop])
        new_docs = [docs[k] for k in keep]
        if not new_docs:
            return first_seq
        new_hashes = [hashes[k] for k in keep]
        prepared = prepare_many(new_docs, s)
        seqs = np.arange(first_seq, first_seq + len(new_docs), dtype=np.int64)
        fps = [doc_fingerprints(p, s) for p in prepared]
        new_h = np.concatenate(fps) if fps else np.empty(0, np.uint64)
        new_d = np.repeat(seqs, [f.shape[0] for f in fps])

        # stored postings of the new hashes (one join), then candidates by the rules of candidates.py
        con.register("_new_fp", pa.table({"hash": pa.array(np.unique(new_h), pa.uint64())}))
        try:
            got = con.execute(
                "SELECT f.hash, f.doc FROM fingerprints f JOIN _new_fp n USING (hash)"
            ).fetchnumpy()
        finally:
            con.unregister("_new_fp")
        old_h = np.asarray(got["hash"], dtype=np.uint64)
        old_d = np.asarray(got["doc"], dtype=np.int64)
        ca, cb = _new_candidates(
            np.concatenate((old_h, new_h)), np.concatenate((old_d, new_d)), first_seq, s.max_df, s.min_shared
        )
        stored_needed = np.unique(ca[ca < first_seq])
        stored = self._fetch_docs(con, stored_needed.tolist())
        meta_rows = {int(seq): (doc.date, doc.source) for seq, doc in stored.items()}
        for k, d in enumerate(new_docs):
            meta_rows[first_seq + k] = (d.date, d.source)
        ca, cb = _filter_pairs(ca, cb, meta_rows, s)
        stats.candidates += int(ca.shape[0])

        prep_of: dict[int, Prepared] = {int(q): p for q, p in zip(seqs.tolist(), prepared, strict=True)}
        if stored:
            order = sorted(stored)
            for q, p in zip(order, prepare_many([stored[q] for q in order], s), strict=True):
                prep_of[q] = p
        pair_rows: dict[str, list[Any]] = {
            k: [] for k in ("a", "b", "a_id", "b_id", "relation", "words", "pair")
        }
        for a, b in zip(ca.tolist(), cb.tolist(), strict=True):
            pair = compare_prepared(prep_of[a], prep_of[b], s)
            if pair.relation == "unrelated":
                continue
            for key, value in (
                ("a", a),
                ("b", b),
                ("a_id", pair.a),
                ("b_id", pair.b),
                ("relation", pair.relation),
                ("words", sum(p.words for p in pair.passages)),
                ("pair", dumps(pair.to_dict())),
            ):
                pair_rows[key].append(value)
            stats.relations[pair.relation] = stats.relations.get(pair.relation, 0) + 1
            stats.pairs += 1

        documents = pa.table(
            {
                "seq": pa.array(seqs, pa.int64()),
                "id": pa.array([d.id for d in new_docs], pa.string()),
                "text": pa.array([d.text for d in new_docs], pa.string()),
                "date": pa.array([d.date for d in new_docs], pa.string()),
                "source": pa.array([d.source for d in new_docs], pa.string()),
                "title": pa.array([d.title for d in new_docs], pa.string()),
                "url": pa.array([d.url for d in new_docs], pa.string()),
                "path": pa.array([d.path for d in new_docs], pa.string()),
                "meta": pa.array([_meta_json(d) for d in new_docs], pa.string()),
                "content_hash": pa.array(new_hashes, pa.string()),
                "tokens": pa.array([len(p.tokens) for p in prepared], pa.int32()),
            }
        )
        fingerprints = pa.table({"hash": pa.array(new_h, pa.uint64()), "doc": pa.array(new_d, pa.int64())})
        pairs = pa.table(
            {
                "a": pa.array(pair_rows["a"], pa.int64()),
                "b": pa.array(pair_rows["b"], pa.int64()),
                "a_id": pa.array(pair_rows["a_id"], pa.string()),
                "b_id": pa.array(pair_rows["b_id"], pa.string()),
                "relation": pa.array(pair_rows["relation"], pa.string()),
                "words": pa.array(pair_rows["words"], pa.int32()),
                "pair": pa.array(pair_rows["pair"], pa.string()),
            }
        )
        for name, table in (("documents", documents), ("fingerprints", fingerprints), ("pairs", pairs)):
            con.register("_batch", table)
            try:
                con.execute(f"INSERT INTO {name} SELECT * FROM _batch")
            finally:
                con.unregister("_batch")
        stats.added += len(new_docs) - sum(1 for k in keep if docs[k].id in existing)
        return first_seq + len(new_docs)

    @staticmethod
    def _same_doc(con: duckdb.DuckDBPyConnection, seq: int, doc: Document) -> bool:
        row = con.execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE seq = ?", [seq]).fetchone()
        return row is not None and _row_doc(row) == doc

    @staticmethod
    def _fetch_docs(con: duckdb.DuckDBPyConnection, seqs: list[int]) -> dict[int, Document]:
        if not seqs:
            return {}
        rows = con.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents WHERE seq IN (SELECT unnest(?::BIGINT[]))", [seqs]
        ).fetchall()
        return {int(r[0]): _row_doc(r) for r in rows}

    # ------------------------------------------------------------ reading

    def count(self) -> dict[str, int]:
        cur = self._reader()
        out = {}
        for table in ("documents", "fingerprints", "pairs"):
            row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
            out[table] = int(row[0]) if row else 0
        return out

    def get(self, doc_id: str) -> Document | None:
        row = (
            self._reader().execute(f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", [doc_id]).fetchone()
        )
        return _row_doc(row) if row else None

    def documents(self, offset: int = 0, limit: int = 50, prefix: str | None = None) -> list[dict[str, Any]]:
        """Document summaries (no text) in index order."""
        where, params = ("WHERE starts_with(id, ?)", [prefix]) if prefix else ("", [])
        rows = (
            self._reader()
            .execute(
                f"SELECT id, date, source, title, url, length(text), tokens FROM documents {where} "
                "ORDER BY seq LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            .fetchall()
        )
        keys = ("id", "date", "source", "title", "url", "length", "tokens")
        return [{k: v for k, v in zip(keys, r, strict=True) if v is not None} for r in rows]

    def pairs(
        self,
        doc_id: str | None = None,
        relation: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Pair]:
        """Stored pairs (most shared words first), optionally of one document or one relation."""
        conds, params = [], []
        if doc_id is not None:
            conds.append("(a_id = ? OR b_id = ?)")
            params += [doc_id, doc_id]
        if relation is not None:
            conds.append("relation = ?")
            params.append(relation)
        where = ("WHERE " + " AND ".join(conds)) if conds else ""
        rows = (
            self._reader()
            .execute(
                f"SELECT a, b, pair FROM pairs {where} ORDER BY words DESC, a, b LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
            .fetchall()
        )
        return self._loaded(rows)

    def pair(self, a_id: str, b_id: str) -> Pair | None:
        rows = (
            self._reader()
            .execute(
                "SELECT a, b, pair FROM pairs WHERE (a_id = ? AND b_id = ?) OR (a_id = ? AND b_id = ?)",
                [a_id, b_id, b_id, a_id],
            )
            .fetchall()
        )
        return self._loaded(rows[:1])[0] if rows else None

    def _loaded(self, rows: list[tuple[Any, ...]]) -> list[Pair]:
        """Pairs from stored rows (a, b, pair JSON). A pair stored without a derivation (by a
        copytrace from before derivations) gets it computed from the two stored texts, as
        ``compare`` gives it; it is not written back (a reader cannot write: rebuild the index to
        store them)."""
        pairs = [pair_from_dict(json.loads(r[2])) for r in rows]
        old = [k for k, p in enumerate(pairs) if p.derivation is None]
        if not old:
            return pairs
        seqs = sorted({int(rows[k][i]) for k in old for i in (0, 1)})
        docs = self._fetch_docs(self._reader(), seqs)
        have = [q for q in seqs if q in docs]
        prep = dict(zip(have, prepare_many([docs[q] for q in have], self.settings), strict=True))
        for k in old:
            a, b = int(rows[k][0]), int(rows[k][1])
            if a in prep and b in prep:
                pairs[k] = dataclasses.replace(
                    pairs[k], derivation=pair_derivation(prep[a], prep[b], self.settings)
                )
        return pairs

    def relation_counts(self) -> dict[str, int]:
        rows = (
            self._reader()
            .execute("SELECT relation, count(*) FROM pairs GROUP BY relation ORDER BY 1")
            .fetchall()
        )
        return {r[0]: int(r[1]) for r in rows}

    def families(self) -> list[Family]:
        """Families of the stored documents from the stored pairs (``cluster.py``), cached per generation."""
        gen = self.generation
        cached = self._families
        if cached is not None and cached[0] == gen:
            return list(cached[1])
        cur = self._reader()
        e = cur.execute("SELECT a, b, relation, words FROM pairs").fetchnumpy()
        linked = np.unique(np.concatenate((np.asarray(e["a"], np.int64), np.asarray(e["b"], np.int64))))
        if linked.shape[0] == 0:
            self._families = (gen, [])
            return []
        rows = cur.execute(
            "SELECT seq, id, date, left(text, 400) FROM documents WHERE seq IN (SELECT unnest(?::BIGINT[])) ORDER BY seq",
            [linked.tolist()],
        ).fetchall()
        index_of = {int(r[0]): k for k, r in enumerate(rows)}
        edges = Edges(
            np.array([index_of[int(x)] for x in e["a"]], dtype=np.int64),
            np.array([index_of[int(x)] for x in e["b"]], dtype=np.int64),
            np.isin(np.asarray(e["relation"], dtype=object), STRONG),
            np.asarray(e["words"], dtype=np.int64),
        )
        labels = components(len(rows), edges, self.settings.min_words)
        agencies = wire_agencies(self.settings.agencies)
        wire = [is_wire_original(r[3], agencies) for r in rows]
        fams = families(labels, [r[1] for r in rows], [r[2] for r in rows], wire, edges)
        self._families = (gen, fams)
        return list(fams)

    def family_genealogy(self, fam: Family) -> tuple[Genealogy, list[dict[str, Any]]]:
        """The tree of a stored family (``genealogy.family_tree``) from the pairs stored between
        its members, and the timelines of its members sharing a ``url`` (or the index settings'
        ``version_key``), compared here (``timeline.timeline``)."""
        from .genealogy import Member, family_tree
        from .timeline import timeline, version_key

        ids = list(fam.members)
        cur = self._reader()
        rows = cur.execute(
            "SELECT pair FROM pairs WHERE a_id IN (SELECT unnest(?::VARCHAR[])) "
            "AND b_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY a, b",
            [ids, ids],
        ).fetchall()
        docs = {
            r[0]: r
            for r in cur.execute(
                "SELECT id, date, length(text) FROM documents WHERE id IN (SELECT unnest(?::VARCHAR[]))",
                [ids],
            ).fetchall()
        }
        members = [Member(x, docs[x][1], int(docs[x][2])) for x in ids if x in docs]
        tree = family_tree(members, (json.loads(r[0]) for r in rows))
        groups: dict[str, list[Document]] = {}
        for x in ids:
            doc = self.get(x)
            key = version_key(doc, self.settings.version_key) if doc is not None else None
            if doc is not None and key is not None:
                groups.setdefault(key, []).append(doc)
        lines = [timeline(g, self.settings) for g in groups.values() if len(g) > 1]
        return tree, lines

    def family_of(self, doc_id: str) -> Family | None:
        for fam in self.families():
            if doc_id in fam.members:
                return fam
        return None

    # ------------------------------------------------------------ reprint clusters and the overview

    def reprints(self) -> Reprints:
        """The reprint clusters of the stored pairs (as a scan's passages.jsonl makes them from its
        pairs), cached per generation."""
        gen = self.generation
        cached = self._reprints
        if cached is not None and cached[0] == gen:
            return cached[1]
        from .passages import clusters_documents, member_index, pair_table, passage_clusters

        cur = self._reader()
        rows = cur.execute("SELECT a, b, words, pair FROM pairs ORDER BY a, b").fetchall()
        a = np.array([r[0] for r in rows], dtype=np.int64)
        b = np.array([r[1] for r in rows], dtype=np.int64)
        seqs = np.unique(np.concatenate((a, b)))
        meta = cur.execute(
            "SELECT seq, id, date, source FROM documents WHERE seq IN (SELECT unnest(?::BIGINT[])) ORDER BY seq",
            [seqs.tolist()],
        ).fetchall()
        data = "".join(r[3] + "\n" for r in rows).encode("utf-8", "surrogatepass")
        table = pair_table([data] if data else [], {}, str(self.path))
        pa, pb = np.searchsorted(seqs, a), np.searchsorted(seqs, b)
        table = dataclasses.replace(table, a=pa, b=pb)
        clusters = passage_clusters(
            pa[table.line], pb[table.line], table.a_start, table.a_end, table.b_start, table.b_end
        )
        rep = Reprints(
            seqs,
            [r[1] for r in meta],
            [r[2] for r in meta],
            [r[3] for r in meta],
            clusters,
            member_index(clusters),
            clusters_documents(clusters),
            table,
            np.array([r[2] for r in rows], dtype=np.int64),
        )
        self._reprints = (gen, rep)
        return rep

    def reprint_records(self, numbers: list[int]) -> list[dict[str, Any]]:
        """The passages.jsonl records of the reprint clusters numbered ``numbers``, in that order."""
        from .passages import cluster_records, subset

        r = self.reprints()
        numbers = [k for k in numbers if 0 <= k < len(r.clusters)]
        if not numbers:
            return []
        sub = subset(r.clusters, np.array(numbers, dtype=np.int64))
        cur = self._reader()
        members = np.unique(sub.doc)
        heads = dict(
            cur.execute(
                "SELECT seq, left(text, 400) FROM documents WHERE seq IN (SELECT unnest(?::BIGINT[]))",
                [r.seqs[members].tolist()],
            ).fetchall()
        )
        agencies = wire_agencies(self.settings.agencies)
        wire = [False] * len(r.ids)
        for k in members.tolist():
            wire[k] = is_wire_original(heads.get(int(r.seqs[k]), ""), agencies)

        def texts(want: list[int]) -> dict[int, str]:
            got = dict(
                cur.execute(
                    "SELECT seq, text FROM documents WHERE seq IN (SELECT unnest(?::BIGINT[]))",
                    [r.seqs[want].tolist()],
                ).fetchall()
            )
            return {k: got.get(int(r.seqs[k]), "") for k in want}

        lines = cluster_records(sub, r.ids, r.dates, r.sources, wire, texts, agencies, numbers=numbers)
        return [json.loads(x) for x in lines]

    def reprint(self, cluster: str) -> dict[str, Any] | None:
        """One reprint cluster's record by its id (``p000012``), or None."""
        if len(cluster) < 2 or cluster[0] != "p" or not cluster[1:].isdigit():
            return None
        got = self.reprint_records([int(cluster[1:])])
        return got[0] if got else None

    def top_reprints(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """The reprint clusters with the most documents (ties: more passages, then id)."""
        from .passages import top_order

        order = top_order(self.reprints().clusters, offset + limit)[offset:]
        return self.reprint_records(order.tolist())

    def overview(self) -> dict[str, Any]:
        """The overview's numbers of every stored pair (``overview.facts``), cached per generation."""
        gen = self.generation
        cached = self._overview
        if cached is not None and cached[0] == gen:
            return cached[1]
        from .passages import pair_facts

        r = self.reprints()
        got = pair_facts(r.table, r.dates, r.sources, self.top_reprints(10))
        self._overview = (gen, got)
        return got

    def pairs_where(
        self,
        *,
        relation: str | None = None,
        cont: int | None = None,
        when: str | None = None,
        flow: tuple[str, str] | None = None,
        cluster: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Pair]:
        """Stored pairs as a bar or cell of the overview selects them (most shared words first):
        ``cont``, a tenth of the larger containment; ``when``, the time bin of the later date;
        ``flow``, (source copied, source copying); ``cluster``, both documents in that reprint
        cluster."""
        from .overview import BINS, later_day, time_key, time_unit

        r = self.reprints()
        t = r.table
        keep = np.ones(t.a.shape[0], dtype=np.bool_)
        if relation is not None:
            code = t.relations.index(relation) if relation in t.relations else -1
            keep &= t.relation == code
        if cont is not None:
            cbin = np.minimum(
                (np.maximum(t.containment_a, t.containment_b) * BINS).astype(np.int64), BINS - 1
            )
            keep &= cbin == cont
        if when is not None:
            from .overview import day_numbers

            days = day_numbers(r.dates)
            later = later_day(days, t.a, t.b)
            unit = time_unit(days)
            keys = np.array([time_key(int(x), unit) or "" for x in later.tolist()], dtype=object)
            keep &= keys == when
        if flow is not None:
            src = np.array([x or "" for x in r.sources], dtype=object)
            sa, sb = src[t.a], src[t.b]
            d = np.array([t.directions[c] for c in t.direction.tolist()], dtype=object)
            fwd = (d == "a_to_b") & (sa == flow[0]) & (sb == flow[1])
            back = (d == "b_to_a") & (sb == flow[0]) & (sa == flow[1])
            keep &= (fwd | back) & (np.array([x is not None for x in r.sources])[t.a])
        if cluster is not None:
            k = int(cluster[1:]) if cluster[1:].isdigit() else -1
            docs = r.doc_sets[k] if 0 <= k < len(r.doc_sets) else set()
            inside = np.zeros(len(r.ids), dtype=np.bool_)
            inside[list(docs)] = True
            keep &= inside[t.a] & inside[t.b]
        rows = np.flatnonzero(keep)
        rows = rows[np.lexsort((t.b[rows], t.a[rows], -r.words[rows]))][offset : offset + limit]
        if rows.shape[0] == 0:
            return []
        a_seq, b_seq = r.seqs[t.a[rows]].tolist(), r.seqs[t.b[rows]].tolist()
        got = (
            self._reader()
            .execute(
                "SELECT p.a, p.b, p.pair FROM pairs p JOIN (SELECT unnest(?::BIGINT[]) AS a, "
                "unnest(?::BIGINT[]) AS b) k ON p.a = k.a AND p.b = k.b",
                [a_seq, b_seq],
            )
            .fetchall()
        )
        at = {(int(x[0]), int(x[1])): x for x in got}
        return self._loaded([at[key] for key in zip(a_seq, b_seq, strict=True) if key in at])

    def reprint_spans(
        self, matches: list[tuple[Document, Pair]], exclude: str | None = None
    ) -> list[dict[str, Any]]:
        """For each span of a query (``a`` in every pair of ``matches``), the reprint cluster it
        belongs to and how many stored documents carry it (``passages.spans_of``); ``exclude``: the
        query's own id when it is stored (not counted)."""
        from .passages import cluster_id, spans_of

        r = self.reprints()
        pos = {x: k for k, x in enumerate(r.ids)}
        other: dict[str, int] = {}
        rows = []
        for doc, pair in matches:
            d = pos.get(doc.id)
            if d is None:
                d = other.setdefault(doc.id, -1 - len(other))
            for p in pair.passages:
                rows.append((p.a_start, p.a_end, d, p.b_start, p.b_end))
        if not rows:
            return []
        cols = [np.array(c, dtype=np.int64) for c in zip(*rows, strict=True)]
        spans = spans_of(cols[0], cols[1], cols[2], cols[3], cols[4], r.clusters, r.found, r.doc_sets)
        skip = pos.get(exclude) if exclude is not None else None
        for sp in spans:
            c = sp["cluster"]
            if skip is not None and c is not None and skip in r.doc_sets[c]:
                sp["documents"] -= 1
            sp["cluster"] = None if c is None else cluster_id(c)
        return spans

    def query_text(
        self, text: str, *, limit: int = QUERY_LIMIT, doc_id: str = "query", exclude: str | None = None
    ) -> list[Match]:
        """Stored documents sharing a passage with ``text`` (which is ``a`` in each pair), most shared first."""
        return self.query(Document(doc_id, text), limit=limit, exclude=exclude)

    def query(self, doc: Document, *, limit: int = QUERY_LIMIT, exclude: str | None = None) -> list[Match]:
        """Matches of a document that need not be stored; ``exclude`` drops one stored id (itself)."""
        s = self.settings
        (pq,) = prepare_many([doc], s)
        fp = doc_fingerprints(pq, s)
        if fp.shape[0] == 0:
            return []
        cur = self._reader()
        docs, counts = self._lookup(fp)
        keep = counts >= s.min_shared
        docs, counts = docs[keep], counts[keep]
        top = np.lexsort((docs, -counts))[: limit + (1 if exclude else 0)]
        res = list(zip(docs[top].tolist(), counts[top].tolist(), strict=True))
        if not res:
            return []
        shared = {int(r[0]): int(r[1]) for r in res}
        stored = self._fetch_docs(cur, list(shared))
        order = [q for q in shared if q in stored and stored[q].id != exclude][:limit]
        if not order:
            return []
        prepared = prepare_many([stored[q] for q in order], s)
        out = []
        for q, pb in zip(order, prepared, strict=True):
            pair = compare_prepared(pq, pb, s)
            if pair.relation != "unrelated":
                out.append(Match(stored[q], pair, shared[q]))
        out.sort(key=lambda m: (-sum(p.words for p in m.pair.passages), -m.shared, m.doc.id))
        return out

    def _postings(self) -> tuple[np.ndarray, np.ndarray]:
        """All postings sorted by hash, held in memory by the reader (about 12 bytes a posting) and
        reloaded when another process has committed an ``add`` (checked at most once a second)."""
        now = time.monotonic()
        cached = self._posting_cache
        if cached is not None and now - cached[1] < 1.0:
            return cached[2], cached[3]
        with self._cache_lock:
            cached = self._posting_cache
            gen = self.generation
            if cached is None or cached[0] != gen:
                got = (
                    self._reader()
                    .execute("SELECT hash, doc FROM fingerprints ORDER BY hash, doc")
                    .fetchnumpy()
                )
                hashes = np.ascontiguousarray(got["hash"], dtype=np.uint64)
                docs = np.ascontiguousarray(
                    got["doc"], dtype=np.int32 if len(hashes) and got["doc"].max() < 2**31 else np.int64
                )
                self._posting_cache = (gen, now, hashes, docs)
            else:
                self._posting_cache = (gen, now, cached[2], cached[3])
            return self._posting_cache[2], self._posting_cache[3]

    def _lookup(self, fp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored documents sharing fingerprints with ``fp`` and how many; a fingerprint held by
        ``max_df`` or more stored documents (more than ``max_df`` with the query) is boilerplate."""
        hashes, docs = self._postings()
        lo = np.searchsorted(hashes, fp, side="left")
        hi = np.searchsorted(hashes, fp, side="right")
        df = hi - lo
        ok = (df > 0) & (df < self.settings.max_df)
        lo, df = lo[ok], df[ok]
        if lo.shape[0] == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        idx = np.repeat(lo, df) + (np.arange(int(df.sum())) - np.repeat(np.cumsum(df) - df, df))
        found, counts = np.unique(docs[idx], return_counts=True)
        return found.astype(np.int64), counts.astype(np.int64)

    def matches_of(self, doc_id: str) -> list[tuple[Document, Pair]]:
        """Stored pairs of a stored document, oriented so that ``doc_id`` is ``a`` (no recomputation)."""
        if self.get(doc_id) is None:
            raise StoreError(f"{self.path}: no document with id {doc_id!r} in the index")
        out = []
        for pair in self.pairs(doc_id=doc_id, limit=1_000_000):
            p = pair if pair.a == doc_id else mirror(pair)
            other = self.get(p.b)
            if other is not None:
                out.append((other, p))
        return out

    def derivation_of(self, doc_id: str) -> dict[str, Any]:
        """A stored document's own derivation from its stored pairs (``own_derivation``): what a
        scan's ``documents.jsonl`` gives it."""
        doc = self.get(doc_id)
        if doc is None:
            raise StoreError(f"{self.path}: no document with id {doc_id!r} in the index")
        pairs = list(self.pairs(doc_id=doc_id, limit=1_000_000))
        parents = {
            src: _sources_named(src, self.pairs(doc_id=src, limit=1_000_000))
            for src in _sources_named(doc_id, pairs)
        }
        return own_derivation(doc, pairs, parents)


def _sources_named(doc_id: str, pairs: Iterable[Pair]) -> set[str]:
    """The documents whose pairs with ``doc_id`` name them its source and derive something."""
    out = set()
    for p in pairs:
        if p.derivation is None or not p.derivation.sentences:
            continue
        if p.direction == "a_to_b" and p.b == doc_id:
            out.add(p.a)
        elif p.direction == "b_to_a" and p.a == doc_id:
            out.add(p.b)
    return out


def own_derivation(
    doc: Document, pairs: Iterable[Pair], parents: dict[str, set[str]] | None = None
) -> dict[str, Any]:
    """A document's own derivation, as ``scan`` writes it in ``documents.jsonl``
    (``derive.sources_from_pairs``, ``derive.document_derivation``): the union of its derived
    sentences and fragments across the pairs whose direction names its source (``a_to_b``: ``a``
    is ``b``'s source), with its verbatim / rewritten / new shares, its level and each source's
    share of its words; ``derive.NO_SOURCE`` when no pair names a source of it. Pairs not of
    ``doc``, those it is the source of and those without a derivation add nothing; ``parents``
    (each source's own sources) leaves out siblings, as the scan does."""
    sources: list[SourceSpans] = []
    for p in pairs:
        if p.derivation is None or not p.derivation.sentences:
            continue
        if p.direction == "a_to_b" and p.b == doc.id:
            source, side = p.a, "b"
        elif p.direction == "b_to_a" and p.a == doc.id:
            source, side = p.b, "a"
        else:
            continue
        links = p.derivation.sentences
        if side == "a":
            spans = [(x.a_start, x.a_end) for x in links]
            frags = [(f.a_start, f.a_end) for x in links for f in x.fragments]
        else:
            spans = [(x.b_start, x.b_end) for x in links]
            frags = [(f.b_start, f.b_end) for x in links for f in x.fragments]
        sources.append((source, spans, frags))
    if not sources:
        return {**NO_SOURCE, "sources": []}
    return document_derivation(tokenize(doc.text), sources, parents)


def _new_candidates(
    h: np.ndarray, d: np.ndarray, first_new: int, max_df: int, min_shared: int
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (a < b) with at least one new document (``d >= first_new``).

    Postings (h, d) are unique; a hash held by more than ``max_df`` documents makes no pair."""
    if h.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order = np.lexsort((d, h))
    h, d = h[order], d[order]
    boundaries = np.flatnonzero(np.diff(h)) + 1
    starts = np.concatenate(([0], boundaries)).astype(np.int64)
    sizes = np.diff(np.concatenate((starts, [h.shape[0]]))).astype(np.int64)
    group = np.repeat(np.arange(starts.shape[0]), sizes)
    mine = np.flatnonzero((d >= first_new) & (sizes[group] >= 2) & (sizes[group] <= max_df))
    if mine.shape[0] == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    g = group[mine]
    reps = sizes[g]
    me = np.repeat(d[mine], reps)
    within = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
    other = d[np.repeat(starts[g], reps) + within]
    # each new document pairs with every stored one, and with new ones after it (each pair once)
    ok = (other < first_new) | (other > me)
    me, other = me[ok], other[ok]
    lo, hi = np.minimum(me, other), np.maximum(me, other)
    keys = (lo.astype(np.uint64) << np.uint64(32)) | hi.astype(np.uint64)
    keys, counts = np.unique(keys, return_counts=True)
    keys = keys[counts >= min_shared]
    return (keys >> np.uint64(32)).astype(np.int64), (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)


def _filter_pairs(
    a: np.ndarray, b: np.ndarray, meta: dict[int, tuple[str | None, str | None]], s: Settings
) -> tuple[np.ndarray, np.ndarray]:
    """The date window and same-source filters of ``Settings``."""
    if s.date_window_days is None and not s.exclude_same_source:
        return a, b
    keep = []
    for x, y in zip(a.tolist(), b.tolist(), strict=True):
        (da, sa), (db, sb) = meta[x], meta[y]
        ok = True
        if s.date_window_days is not None:
            pa_, pb_ = parse_date(da), parse_date(db)
            if pa_ is not None and pb_ is not None and abs((pa_ - pb_).days) > s.date_window_days:
                ok = False
        if s.exclude_same_source and sa is not None and sa == sb:
            ok = False
        keep.append(ok)
    mask = np.array(keep, dtype=np.bool_)
    return a[mask], b[mask]


def pair_from_dict(obj: dict[str, Any]) -> Pair:
    """A Pair from its JSON object (the inverse of ``Pair.to_dict``; token ranges are not stored)."""
    from .types import Edit, Passage

    derivation = obj.get("derivation")

    passages = tuple(
        Passage(
            p["a_start"],
            p["a_end"],
            p["b_start"],
            p["b_end"],
            p["words"],
            p["similarity"],
            tuple(Edit(**e) for e in p["edits"]),
        )
        for p in obj["passages"]
    )
    flags = obj.get("flags", {})
    return Pair(
        a=obj["a"],
        b=obj["b"],
        relation=obj["relation"],
        direction=obj["direction"],
        containment_a=obj["containment_a"],
        containment_b=obj["containment_b"],
        similarity=obj["similarity"],
        passages=passages,
        numbers_changed=tuple(flags.get("numbers_changed", ())),
        names_changed=tuple(flags.get("names_changed", ())),
        direction_reason=obj.get("direction_reason", "no evidence"),
        derivation=None if derivation is None else derivation_from_dict(derivation),
    )


def derivation_from_dict(obj: dict[str, Any]) -> Derivation:
    """A Derivation from its JSON object (the inverse of ``Derivation.to_dict``)."""
    from .types import DerivedSide, Fragment, SentenceLink

    def side(x: dict[str, Any]) -> DerivedSide:
        return DerivedSide(x["verbatim"], x["rewritten"], x["new"], x["level"], x.get("words", 0))

    links = tuple(
        SentenceLink(
            x["a_start"],
            x["a_end"],
            x["b_start"],
            x["b_end"],
            x["kind"],
            x["similarity"],
            tuple(Fragment(f["a_start"], f["a_end"], f["b_start"], f["b_end"]) for f in x["fragments"]),
        )
        for x in obj.get("sentences", ())
    )
    return Derivation(side(obj["a"]), side(obj["b"]), links)


def mirror(pair: Pair) -> Pair:
    """The same pair seen from ``b``'s side."""
    relation = {"a_contains_b": "b_contains_a", "b_contains_a": "a_contains_b"}.get(
        pair.relation, pair.relation
    )
    direction = {"a_to_b": "b_to_a", "b_to_a": "a_to_b"}.get(pair.direction, pair.direction)
    return Pair(
        a=pair.b,
        b=pair.a,
        relation=relation,
        direction=direction,
        containment_a=pair.containment_b,
        containment_b=pair.containment_a,
        similarity=pair.similarity,
        passages=tuple(p.swapped() for p in pair.passages),
        numbers_changed=tuple(_swap_flag(d) for d in pair.numbers_changed),
        names_changed=tuple(_swap_flag(d) for d in pair.names_changed),
        direction_reason=pair.direction_reason,
        derivation=None if pair.derivation is None else pair.derivation.swapped(),
    )


def _swap_flag(d: dict[str, Any]) -> dict[str, Any]:
    out = dict(d)
    for x, y in (("a", "b"), ("a_start", "b_start"), ("a_end", "b_end")):
        if x in d and y in d:
            out[x], out[y] = d[y], d[x]
    return out


@dataclass
class Reprints:
    """The reprint clusters of an index's stored pairs (``passages.passage_clusters``), its
    documents numbered by position in ``seqs`` (the stored documents in some pair, by seq), and
    what the overview reads of every pair (``table``, with ``a`` and ``b`` as positions)."""

    seqs: np.ndarray
    ids: list[str]
    dates: list[str | None]
    sources: list[str | None]
    clusters: Any  # passages.Clusters
    found: tuple[np.ndarray, np.ndarray]
    doc_sets: list[set[int]]
    table: Any  # passages.PairTable
    words: np.ndarray  # shared words of each pair (the order of ``table``)
