"""Spark engine: the local engine's stage functions on Spark DataFrames, with identical output.

Stages and where their data lives (``staging`` is the run's work folder for a ``local`` master, or
``$COPYTRACE_SPARK_STAGING/copytrace-KEY`` on storage every executor reaches):

1. read +      the driver cuts JSONL files into byte ranges at line ends (``sources.slices``, as the
   fingerprint local engine's workers read them) and Parquet files into row-group ranges, and ships
               one row a chunk (kind, path, start, end, first record) to a DataFrame job; executors
               parse their chunk with the local engine's functions (``sources.read_slice``,
               ``read.make_document``), write its documents (``staging/docs/part-NNNNNN``: Arrow IPC
               for a local staging folder, the run's store itself; Parquet on shared storage),
               fingerprint the texts they hold (``sorted_postings``; document numbers within
               the chunk) and write the postings packed by bucket (``staging/postings``), then the
               chunk's completion file (with each text's whole-text fingerprint). Text files, folders
               and CSV are read by the driver a batch at a time and saved the same way (the executors
               fingerprint them). The driver keeps only per-document columns (id, date, source, and
               the groups of more than ``max_df`` identical texts: ``cluster.mass_copies``); input
               errors and repeated ids raise, in input order, the local engine's one-line ``InputError``
2. candidates  two shuffles of packed rows (see "candidates: packed shuffles"): postings by bucket
               (those of the large groups' members left out), ``candidates.pair_hits`` on each
               partition (posting lists longer than ``max_df`` dropped); hits by pair key,
               ``candidates.supported_pairs`` on each (the two-hit rule, and the evidence rule
               for rewritten copies: the postings hold evidence keys too); each group member paired
               with its group's first; ``--semantic`` neighbour pairs added; then the optional date
               window and same-source filters as joins. Kept as ``staging/cands`` (Parquet)
3. align       candidate pairs in chunks of consecutive ``a`` (boundaries from the per-``a`` counts),
               one chunk a task; the chunk's documents read from the run's store (local staging) or
               cogrouped with it (a join ships every text once per chunk; shared storage);
               ``encode_chunk``; each chunk's related pairs, sorted, saved as
               ``staging/results/part-NNNNNN.arrow``
4. write       the driver reads the result files in chunk order (a chunk is a range of ``a``: the
               order of the local engine's output) into ``pairs.jsonl`` and keeps only the compact
               edge arrays that clustering needs, as the local engine does. On shared storage the
               driver copies the saved chunks, one at a time, into the run's Arrow store (for
               ``documents.jsonl`` and the report) while the executors work

Resume (``--resume``): every stage output ends with a completion file written last (a chunk's
``_part-NNNNNN.json``, a Parquet output's ``_copytrace-done.json``, the work folder's
``_spark-pairs.json``); a resumed run skips what is complete. The idea is the local engine's
(``checkpoint``): per-chunk markers, then whole stages.

Nothing collects documents, postings, candidate pairs or results to the driver as a whole. pyspark
is imported lazily; a missing pyspark raises ``EngineError`` naming ``pip install 'copytrace[spark]'``.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .. import candidates as cand
from .. import checkpoint
from ..checkpoint import MANIFEST
from ..cluster import grouped_order, mass_copies
from ..errors import EngineError, InputError
from ..postings import sorted_postings, whole_fingerprints
from ..read import JSONL_SUFFIXES, read_inputs
from ..relate import parse_date, wire_agencies, wire_dateline
from ..sources import JsonlSlice, line_of, read_slice, slices
from ..store import SCHEMA, StoreReader, _columns, batch_documents
from ..types import Document, Settings
from .local import PAIRS_PER_TASK, ScanState, encode_chunk, no_cyclic_gc

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[*]"
INSTALL_HINT = "pip install 'copytrace[spark]'"
STAGING_ENV = "COPYTRACE_SPARK_STAGING"

DOCS_SCHEMA = "chunk int, k int, " + ", ".join(f"{name} string" for name in SCHEMA.names)
CANDS_SCHEMA = "a long, b long"
_UNKNOWN_DAY = -(1 << 40)
DONE = "_copytrace-done.json"  # a stage's completion file, inside its Parquet output, written last
PAIRS_DONE = "_spark-pairs.json"  # in the work folder: pairs.jsonl and the edges are complete
EDGES_FILE = "_spark-edges.npy"
# candidate pairs in one align task at most. A Spark task costs tens of milliseconds besides its work
# (scheduling, the shuffle read, the Python worker's set-up: 0.1 CPU s a task on the 2-core machine),
# so a chunk holds several of the local engine's tasks and compares them one at a time
CHUNK_PAIRS = 4 * PAIRS_PER_TASK
# chunks of documents one read task parses at most (one after another: one chunk in memory)
READ_CHUNKS_PER_TASK = 8

# everything at ERROR; the REPL logger set too, so Spark prints no "Setting default log level" notice
_LOG4J2 = """\
rootLogger.level = error
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
logger.spark.name = org.apache.spark
logger.spark.level = error
logger.hadoop.name = org.apache.hadoop
logger.hadoop.level = error
logger.parquet.name = org.apache.parquet
logger.parquet.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


# ---------------------------------------------------------------- session


def _pyspark() -> Any:
    """The ``pyspark.sql`` module, or an ``EngineError`` saying what to install."""
    try:
        import pyspark.sql
    except ImportError as exc:
        raise EngineError(
            f"the spark engine needs pyspark, which cannot be imported ({exc}); install it with {INSTALL_HINT}"
        ) from None
    return pyspark.sql


def _local_cores(master: str) -> int | None:
    """Cores of a ``local``, ``local[N]`` or ``local[*]`` master; None for a cluster master."""
    if master == "local":
        return 1
    if master.startswith("local["):
        n = master[len("local[") :].split(",")[0].rstrip("]")
        return (os.cpu_count() or 1) if n == "*" else max(1, int(n)) if n.isdigit() else None
    return None


def spark_conf(master: str, s: Settings, workdir: Path) -> dict[str, str]:
    """Settings for a session copytrace starts itself: quiet, no UI, sized for ``master``."""
    log_conf = workdir / "_log4j2.properties"
    log_conf.write_text(_LOG4J2, encoding="utf-8")
    conf = {
        "spark.app.name": "copytrace",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={log_conf.resolve()}",
        "spark.sql.execution.arrow.maxRecordsPerBatch": str(s.batch_size),
        "spark.sql.adaptive.enabled": "true",
    }
    cores = _local_cores(master)
    if cores is not None:
        # one JVM does everything: give it the candidate stage's budget twice over, 2 GiB at least
        conf["spark.driver.memory"] = f"{max(2048, 2 * s.memory_mb)}m"
        # the JIT's first tier only: the JVM here plans jobs and moves packed bytes (the work is
        # done in Python), and the optimizing compiler's threads took the cores from the Python
        # workers while Spark started (2 cores: session start 16 -> 9 s, first job 12 -> 9 s,
        # later small jobs a quarter faster, at load 6)
        conf["spark.driver.extraJavaOptions"] += " -XX:TieredStopAtLevel=1"
        if cds := cds_options():
            conf["spark.driver.extraJavaOptions"] += " " + cds
        conf["spark.sql.shuffle.partitions"] = str(max(4, 4 * cores))
        # shuffles stay on this machine's disk and carry packed hashes (random bytes that do not
        # compress): compressing them cost the JVM 2 of its 10 CPU seconds in the candidate stage
        # at 100k; a cluster master keeps Spark's default (the network is the cost there)
        conf["spark.shuffle.compress"] = "false"
        conf["spark.shuffle.spill.compress"] = "false"
    return conf


# ---------------------------------------------------------------- JVM class-data sharing
#
# Starting the JVM and Spark loads some 15,000 classes from Spark's jars: about 5 of the 10 CPU
# seconds a local session takes to start and run its first job. A dynamic class-data-sharing
# archive (JDK 13+, "AppCDS": the classes a run loaded, parsed and verified, dumped at exit and
# mapped by the next JVM; JEP 350) halves that on the 2-core machine (JVM CPU 10.2 -> 5.5 s, session
# start 12.5 -> 7.9 s wall under load). The first session copytrace starts itself records the
# archive; copytrace then closes that JVM itself (the dump happens as it exits) and moves the
# archive into the cache only when the JVM exited normally: a truncated archive makes a JVM fail
# to start, one from another JDK or classpath is ignored (the JVM's notice about it is silenced).

CDS_ENV = "COPYTRACE_SPARK_CDS"  # "0": no archive, neither used nor recorded
_recording: list[tuple[Path, Path]] = []  # (part, final) of the archive the running JVM will dump


def _cache_dir() -> Path:
    root = os.environ.get("COPYTRACE_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(root) / "copytrace" if root else Path.home() / ".cache" / "copytrace"


def cds_options() -> str:
    """JVM options that map the class-data archive of this pyspark and Java, or record one."""
    if os.environ.get(CDS_ENV, "1") == "0":
        return ""
    import pyspark
    from pyspark import SparkContext

    if SparkContext._gateway is not None:  # this process's JVM runs already: its options are set
        return ""
    home = os.environ.get("JAVA_HOME")
    java = (
        (shutil.which("java", path=os.path.join(home, "bin")) if home else None)
        or shutil.which("java")
        or "java"
    )
    key = hashlib.sha256(f"{pyspark.__version__}\0{os.path.realpath(java)}".encode()).hexdigest()[:12]
    cache = _cache_dir()
    final = cache / f"spark-{pyspark.__version__}-{key}.jsa"
    if final.is_file():
        return f"-XX:SharedArchiveFile={final} -Xlog:cds=off -Xlog:cds+dynamic=off"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        for old in cache.glob(f"{final.name}.*.part"):  # left by a JVM that was killed while dumping
            pid = int(old.name.rsplit(".", 2)[-2])
            if not _alive(pid):
                old.unlink(missing_ok=True)
    except (OSError, ValueError):
        return ""
    part = cache / f"{final.name}.{os.getpid()}.part"
    _recording[:] = [(part, final)]
    return f"-XX:ArchiveClassesAtExit={part} -Xlog:cds=off -Xlog:cds+dynamic=off"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def finish_recording() -> None:
    """After the session that records the archive is stopped: end its JVM (it dumps the archive
    as it exits) and, if it exited normally, move the archive into place."""
    if not _recording:
        return
    part, final = _recording.pop()
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    try:
        if gateway is None or proc is None or proc.stdin is None:
            return
        gateway.shutdown()
        proc.stdin.close()  # Spark's gateway server exits on end of input
        code = proc.wait(timeout=300)
        SparkContext._gateway = None
        SparkContext._jvm = None
        if code == 0 and part.is_file() and part.stat().st_size > 0:
            os.replace(part, final)
    except (OSError, subprocess.TimeoutExpired):
        pass
    finally:
        part.unlink(missing_ok=True)


def start_session(master: str | None, s: Settings, workdir: Path) -> tuple[SparkSession, bool]:
    """The active session if there is one (spark-submit, tests), else a new one; and whether we own it."""
    sql = _pyspark()
    active = sql.SparkSession.getActiveSession()
    if active is not None and master is None:
        return active, False
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit chose the master
    use = master or (None if under_submit else DEFAULT_MASTER)
    builder = sql.SparkSession.builder
    if use is not None and _local_cores(use) is not None and not os.environ.get("PYSPARK_PYTHON"):
        # local executors must run this Python (copytrace and its dependencies installed)
        os.environ["PYSPARK_PYTHON"] = sys.executable
    if use is not None:
        builder = builder.master(use)
        for key, value in spark_conf(use, s, workdir).items():
            builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:
        raise EngineError(
            f"cannot start Spark with master {use or 'from spark-submit'!r}: {str(exc).strip().splitlines()[0]} "
            "(Spark needs Java 17 or later: java on PATH or JAVA_HOME set)"
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark, active is None


# ---------------------------------------------------------------- executor-side functions


def chunk_fn(
    starts: np.ndarray, keys: np.ndarray
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function: candidate pairs (a, b) -> (chunk key, chunk, a, b); chunk ``c`` holds
    every pair whose ``a`` lies in ``[starts[c], starts[c + 1])`` and is placed by ``keys[c]``."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for rb in batches:
            a = rb.column("a").to_numpy()
            chunk = np.searchsorted(starts, a, side="right") - 1
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(keys[chunk].astype(np.int32)),
                    pa.array(chunk.astype(np.int32)),
                    rb.column("a"),
                    rb.column("b"),
                ],
                names=["chunk", "c", "a", "b"],
            )

    return run


_PAIR_ORDER = itemgetter(0, 1)


def _align_rows(pairs_t: pa.Table, get: Callable[[set[int]], dict[int, Document]], s: Settings) -> pa.Table:
    """One chunk's candidate pairs -> its related pairs, encoded, sorted by (a, b). The pairs are
    compared ``PAIRS_PER_TASK`` at a time (the local engine's task), so a worker holds the prepared
    documents of one such slice, however large the chunk; the slices take the pairs grouped by
    connected component, as the local engine's tasks do, so a document is prepared once for all
    its pairs in a slice."""
    a = pairs_t.column("a").to_numpy().astype(np.int64)
    b = pairs_t.column("b").to_numpy().astype(np.int64)
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    order = grouped_order(int(nodes.shape[0]), inverse[: a.shape[0]], inverse[a.shape[0] :], PAIRS_PER_TASK)
    pairs = list(zip(a[order].tolist(), b[order].tolist(), strict=True))
    rows: list[tuple[int, int, str, str, int, bool]] = []
    for k in range(0, len(pairs), PAIRS_PER_TASK):
        part = pairs[k : k + PAIRS_PER_TASK]
        docs = get({i for p in part for i in p})
        with no_cyclic_gc():
            rows.extend(encode_chunk(part, docs, s))
        del docs
    rows.sort(key=_PAIR_ORDER)
    return pa.table(
        {
            "a": pa.array([r[0] for r in rows], pa.int64()),
            "b": pa.array([r[1] for r in rows], pa.int64()),
            "line": pa.array([r[2] for r in rows], pa.string()),
            "relation": pa.array([r[3] for r in rows], pa.string()),
            "words": pa.array([r[4] for r in rows], pa.int64()),
            "strong": pa.array([r[5] for r in rows], pa.bool_()),
        }
    )


def save_results(results_uri: str, c: int, table: pa.Table) -> pa.Table:
    """Chunk ``c``'s related pairs as ``results/part-NNNNNN.arrow`` (moved into place when complete);
    returns the row (c, pairs) the driver collects."""
    fs, root = _filesystem(results_uri)
    tmp = f"{root}/.part-{c:06d}-{uuid.uuid4().hex}.tmp"
    with fs.open_output_stream(tmp) as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    fs.move(tmp, f"{root}/part-{c:06d}.arrow")
    return pa.table({"c": pa.array([c], pa.int32()), "n": pa.array([table.num_rows], pa.int64())})


def align_fn(s: Settings, results_uri: str) -> Callable[[pa.Table, pa.Table], pa.Table]:
    """Cogroup function: one chunk's pairs and the documents they name -> the chunk's related pairs,
    saved by ``save_results``."""

    def run(pairs_t: pa.Table, docs_t: pa.Table) -> pa.Table:
        docs = dict(zip(docs_t.column("idx").to_pylist(), batch_documents(docs_t), strict=True))
        c = int(pairs_t.column("c")[0].as_py())
        return save_results(results_uri, c, _align_rows(pairs_t, lambda need: docs, s))

    return run


def align_store_fn(
    files: list[str], offsets: np.ndarray, results_uri: str, s: Settings
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function over a partition of chunked pairs (one chunk a partition): each
    chunk's documents read from the run's store by the local engine's ``StoreReader`` (a
    machine-local staging folder, so no text crosses Spark; one reader a task, its batch layouts
    dropped after each chunk), its related pairs saved by ``save_results``."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        got = [rb for rb in batches if rb.num_rows]
        if not got:
            return
        t = pa.Table.from_batches(got)
        c = t.column("c").to_numpy()
        store = StoreReader(files, offsets)
        try:
            for chunk in np.unique(c).tolist():
                part = t.filter(pa.array(c == chunk))
                rows = _align_rows(part, store.get, s)
                store.release()
                yield from save_results(results_uri, chunk, rows).to_batches()
        finally:
            store.close()

    return run


# ---------------------------------------------------------------- reading on executors
#
# The driver cuts the inputs into chunks without parsing them (byte ranges of JSONL files at line
# ends, as the local engine's workers read them: ``sources.slices``; row-group ranges of Parquet
# files) and ships one small row a chunk (kind, path, start, end, first record) to the executors.
# Each executor task parses its chunk with the local engine's own functions (``sources.read_slice``,
# ``read.make_document``) and writes it to the staging folder as ``docs/part-NNNNNN.parquet``, then
# ``docs/_part-NNNNNN.json`` (the chunk's ids, dates, sources, lines and warnings: its completion
# file, written last). Other inputs (text files, folders, CSV) are read by the driver a batch at a
# time, as the local engine's parent reads them, and written the same way. The global input order
# index of a document is the number of documents in earlier chunks plus its row in its chunk, known
# once every chunk is read. The completion files also make the read resumable chunk by chunk.

READ_KINDS = ("jsonl", "parquet", "driver")
ROWS_PER_GROUP = 256


@dataclass(frozen=True, slots=True)
class ParquetSlice:
    """Row groups ``[lo, hi)`` of a Parquet file; ``first`` is the record number (1-based) of the
    first row, as ``read`` numbers Parquet records."""

    path: str
    lo: int
    hi: int
    first: int


def parquet_slices(path: str, rows: int) -> Iterator[ParquetSlice]:
    """Row-group ranges of about ``rows`` rows; the file's footer is checked here, on the driver,
    with the messages ``read`` gives."""
    from ..read import open_parquet

    pf = open_parquet(path)
    meta = pf.metadata
    lo, first, got = 0, 1, 0
    for g in range(meta.num_row_groups):
        got += meta.row_group(g).num_rows
        if got >= rows or g == meta.num_row_groups - 1:
            yield ParquetSlice(path, lo, g + 1, first)
            lo, first, got = g + 1, first + got, 0


def read_parquet_slice(sl: ParquetSlice, warn: Callable[[str], None]) -> tuple[list[Document], list[int]]:
    """Documents of some row groups of a Parquet file, record for record as ``read`` makes them."""
    import pyarrow.parquet as pq

    from ..read import make_document

    docs: list[Document] = []
    k = sl.first
    pf = pq.ParquetFile(sl.path)
    for batch in pf.iter_batches(batch_size=4096, row_groups=list(range(sl.lo, sl.hi))):
        for record in batch.to_pylist():
            docs.append(make_document(record, sl.path, f"record {k}", warn))
            k += 1
    return docs, list(range(sl.first, k))


def _docs_table(chunk: int, docs: list[Document]) -> pa.Table:
    cols = _columns(docs)
    return pa.table(
        {
            "chunk": pa.array(np.full(len(docs), chunk, dtype=np.int32)),
            "k": pa.array(np.arange(len(docs), dtype=np.int32)),
            **{f.name: pa.array(cols[f.name], f.type) for f in SCHEMA},
        }
    )


def _write_bytes(fs: Any, path: str, data: bytes) -> None:
    """Write a small file under a temporary name, then move it into place (S3: written on close)."""
    tmp = f"{path.rsplit('/', 1)[0]}/.{uuid.uuid4().hex}.tmp"
    with fs.open_output_stream(tmp) as out:
        out.write(data)
    fs.move(tmp, path)


def doc_file(chunk: int, ipc: bool) -> str:
    """A saved chunk's file name: Arrow IPC (a store file the driver and the align tasks map, when
    the staging folder is on this machine) or Parquet (read by Spark, on shared storage)."""
    return f"part-{chunk:06d}.arrow" if ipc else f"part-{chunk:06d}.parquet"


def save_chunk_docs(docs_uri: str, chunk: int, docs: list[Document], meta: dict[str, Any], ipc: bool) -> None:
    """One chunk's documents as ``part-NNNNNN.parquet`` or ``.arrow``, then its completion file
    ``_part-NNNNNN.json`` (``save_chunk_meta``)."""
    import pyarrow.parquet as pq

    fs, root = _filesystem(docs_uri)
    tmp = f"{root}/.part-{chunk:06d}-{uuid.uuid4().hex}.tmp"
    if ipc:  # as ``store.write_chunk`` writes the local engine's store: one record batch
        with fs.open_output_stream(tmp) as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
            writer.write_batch(pa.RecordBatch.from_pydict(_columns(docs), schema=SCHEMA))
    else:
        pq.write_table(
            _docs_table(chunk, docs), tmp, filesystem=fs, compression="zstd", row_group_size=ROWS_PER_GROUP
        )
    fs.move(tmp, f"{root}/{doc_file(chunk, ipc)}")
    save_chunk_meta(docs_uri, chunk, meta)


def save_chunk_meta(docs_uri: str, chunk: int, meta: dict[str, Any]) -> None:
    """A chunk's completion record as ``_part-NNNNNN.json`` (names starting with ``_`` or ``.`` are
    not read by Spark as data)."""
    fs, root = _filesystem(docs_uri)
    _write_bytes(fs, f"{root}/_part-{chunk:06d}.json", json.dumps(meta, ensure_ascii=False).encode("utf-8"))


def postings_uri_of(docs_uri: str) -> str:
    """Where the chunks' postings go: ``postings/`` beside ``docs/``."""
    return docs_uri.rsplit("/", 1)[0] + "/postings"


def saved_texts(docs_uri: str, chunk: int, ipc: bool) -> list[str]:
    """The texts of a saved chunk."""
    import pyarrow.parquet as pq

    fs, root = _filesystem(docs_uri)
    path = f"{root}/{doc_file(chunk, ipc)}"
    if ipc:
        with fs.open_input_file(path) as src:
            texts: list[str] = pa.ipc.open_file(src).read_all().column("text").to_pylist()
        return texts
    texts = pq.read_table(path, columns=["text"], filesystem=fs).column("text").to_pylist()
    return texts


def save_chunk_postings(docs_uri: str, chunk: int, texts: list[str], s: Settings) -> str:
    """A chunk's postings (``sorted_postings`` of its texts with their evidence keys, document
    numbers within the chunk, as the local engine's) as ``postings/part-NNNNNN.parquet``: one row
    a bucket (``postings_blobs``), written under a temporary name and moved into place. Returns
    the texts' ``whole_fingerprints``, as the local engine's ``ChunkResult.whole``: the driver
    finds large groups of identical texts with them."""
    import pyarrow.parquet as pq

    h, d, p = sorted_postings([Document("", t) for t in texts], s, evidence=True)
    fs, root = _filesystem(postings_uri_of(docs_uri))
    tmp = f"{root}/.part-{chunk:06d}-{uuid.uuid4().hex}.tmp"
    pq.write_table(postings_blobs(chunk, h, d, p), tmp, filesystem=fs, compression="none")
    fs.move(tmp, f"{root}/part-{chunk:06d}.parquet")
    return whole_fingerprints(h, d, p, len(texts))


def read_chunk_meta(docs_uri: str, chunk: int) -> dict[str, Any]:
    """A saved chunk's completion record (``OSError`` or ``ValueError`` when there is none)."""
    fs, root = _filesystem(docs_uri)
    with fs.open_input_stream(f"{root}/_part-{chunk:06d}.json") as fh:
        meta: dict[str, Any] = json.loads(fh.read())
    return meta


def load_chunk_meta(docs_uri: str, chunk: int, ipc: bool) -> dict[str, Any] | None:
    """The completion record of a chunk read and fingerprinted before (a resumed run), or None.
    Only a record with the whole-text fingerprints (``"whole"``) says the chunk's postings are saved
    too: the driver saves the chunks it reads without them (the executors fingerprint them), and
    records from before they were kept lack them (such a chunk is done again)."""
    try:
        meta = read_chunk_meta(docs_uri, chunk)
    except (OSError, ValueError):
        return None
    if "whole" not in meta or "wires" not in meta:  # (from before they were kept: redone)
        return None
    fs, root = _filesystem(docs_uri)
    if fs.get_file_info(f"{root}/{doc_file(chunk, ipc)}").type.name != "File":
        return None
    return meta


def chunk_meta(
    kind: str, where: str, lo: int, hi: int, docs: list[Document], lines: list[int], warned: list[str]
) -> dict[str, Any]:
    """What the driver keeps of a chunk (as ``engines.local.ChunkResult``), plus its size in characters."""
    return {
        "kind": kind,
        "ids": [d.id for d in docs],
        "dates": [d.date for d in docs],
        "sources": [d.source for d in docs],
        "where": where,
        "lo": lo,
        "hi": hi,
        "lines": lines,
        "warnings": warned,
        "chars": sum(len(d.text) for d in docs),
    }


def read_fn(
    docs_uri: str, s: Settings, ipc: bool
) -> Callable[[Iterable[tuple[int, str, str, int, int, int]]], Iterator[tuple[int, str]]]:
    """Executor function: chunk rows (chunk, kind, path, lo, hi, first) -> (chunk, JSON of its
    completion record, or of the input error ``{"error": [path, reason, record]}``). The chunk's
    postings are made here too, from the texts just parsed (``save_chunk_postings``), and their
    whole-text fingerprints and wire datelines go into the record; a chunk the driver read (kind
    ``driver``) is only fingerprinted, from its saved texts, and its record (saved by the driver)
    rewritten with them."""

    def run(rows: Iterable[tuple[int, str, str, int, int, int]]) -> Iterator[tuple[int, str]]:
        for chunk, kind, path, lo, hi, first in rows:
            if kind == "driver":
                meta = read_chunk_meta(docs_uri, chunk)
                texts = saved_texts(docs_uri, chunk, ipc)
                meta["whole"] = save_chunk_postings(docs_uri, chunk, texts, s)
                meta["wires"] = [wire_dateline(t, wire_agencies(s.agencies)) for t in texts]
                save_chunk_meta(docs_uri, chunk, meta)
                yield chunk, json.dumps(meta, ensure_ascii=False)
                continue
            warned: list[str] = []
            try:
                try:
                    if kind == "jsonl":
                        docs, lines = read_slice(JsonlSlice(path, lo, hi), warned.append)
                        meta = chunk_meta(kind, path, lo, hi, docs, lines, warned)
                    else:
                        docs, lines = read_parquet_slice(ParquetSlice(path, lo, hi, first), warned.append)
                        meta = chunk_meta(kind, path, -1, -1, docs, lines, warned)
                except OSError as exc:
                    raise InputError(path, f"cannot read ({exc.strerror or exc})") from None
            except InputError as exc:
                yield chunk, json.dumps({"error": [exc.path, exc.reason, exc.record]}, ensure_ascii=False)
                continue
            meta["whole"] = save_chunk_postings(docs_uri, chunk, [d.text for d in docs], s)
            meta["wires"] = [wire_dateline(d.text, wire_agencies(s.agencies)) for d in docs]
            save_chunk_docs(docs_uri, chunk, docs, meta, ipc)
            yield chunk, json.dumps(meta, ensure_ascii=False)

    return run


def read_arrow_fn(
    docs_uri: str, todo: list[tuple[int, str, str, int, int, int]], s: Settings, ipc: bool
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function over ``spark.range(len(todo))``: row ``i`` reads chunk ``todo[i]``
    with ``read_fn`` -> (chunk, JSON of its completion record or input error). A DataFrame job,
    not an RDD one, so that its Python workers are the ones every later (SQL) job reuses (Spark
    keeps separate worker pools for RDD and SQL jobs; a fresh pool pays the imports again)."""
    read = read_fn(docs_uri, s, ipc)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for rb in batches:
            got = list(read(todo[i] for i in rb.column("id").to_pylist()))
            yield pa.RecordBatch.from_arrays(
                [pa.array([c for c, _ in got], pa.int64()), pa.array([m for _, m in got], pa.string())],
                names=["chunk", "meta"],
            )

    return run


def locate(meta: dict[str, Any], k: int) -> str:
    """Where document ``k`` of a chunk was read: ``line N``, ``record N`` or ``record``."""
    if meta["kind"] == "jsonl":
        return f"line {line_of(JsonlSlice(meta['where'], meta['lo'], meta['hi']), meta['lines'][k])}"
    if meta["kind"] == "parquet":
        return f"record {meta['lines'][k]}"
    return "record"


def plan_chunks(
    inputs: list[str] | list[Document],
    docs_uri: str,
    s: Settings,
    warn: Callable[[str], None] | None,
    resumed: bool,
    ipc: bool,
) -> list[tuple[int, str, str, int, int, int]]:
    """Every chunk of the inputs in input order: JSONL and Parquet chunks as rows for the executors;
    the other inputs read here a batch at a time and saved as their chunks are (skipped when a
    resumed run finds them complete)."""
    rows: list[tuple[int, str, str, int, int, int]] = []
    pending: list[str] = []

    def save(batch: list[Document]) -> None:
        chunk = len(rows)
        rows.append((chunk, "driver", batch[0].path or "input", -1, -1, 0))
        if not (resumed and load_chunk_meta(docs_uri, chunk, ipc) is not None):
            where = batch[0].path or "input"
            save_chunk_docs(docs_uri, chunk, batch, chunk_meta("driver", where, -1, -1, batch, [], []), ipc)

    def flush(docs: Iterable[Document]) -> None:
        batch: list[Document] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) == s.batch_size:
                save(batch)
                batch = []
        if batch:
            save(batch)
        pending.clear()

    if inputs and isinstance(inputs[0], Document):
        flush(inputs)  # type: ignore[arg-type]
        return rows
    for path in (str(x) for x in inputs):
        p = Path(path)
        suffix = p.suffix.lower()
        if p.is_file() and (suffix in JSONL_SUFFIXES or suffix == ".parquet"):
            flush(read_inputs(pending, warn))
            if suffix == ".parquet":
                for ps in parquet_slices(path, s.batch_size):
                    rows.append((len(rows), "parquet", path, ps.lo, ps.hi, ps.first))
            else:
                for js in slices(path):
                    rows.append((len(rows), "jsonl", path, js.lo, js.hi, 0))
        else:
            pending.append(path)
    flush(read_inputs(pending, warn))
    return rows


def indexed_docs(spark: SparkSession, docs_uri: str, offsets: np.ndarray) -> DataFrame:
    """The saved chunks as documents with ``idx`` (input order) = documents in earlier chunks + row
    in the chunk, computed in the JVM (a broadcast join on the chunk number): no Python pass over
    the texts, and a stage reading only some columns reads only those from the Parquet files."""
    from pyspark.sql import functions as F

    first = spark.createDataFrame(
        pa.table(
            {
                "chunk": pa.array(np.arange(len(offsets) - 1, dtype=np.int32)),
                "first": pa.array(offsets[:-1].astype(np.int64)),
            }
        )
    )
    return (
        spark.read.schema(DOCS_SCHEMA)
        .parquet(docs_uri)
        .join(F.broadcast(first), "chunk")
        .select((F.col("first") + F.col("k")).cast("int").alias("idx"), *SCHEMA.names)
    )


def arrow_store(docs_uri: str, n_chunks: int, workdir: Path) -> list[str]:
    """The run's Arrow IPC store (``_docs-NNNNNN.arrow`` in the work folder, one a chunk, as the
    local engine's), copied from the saved chunks one at a time; the driver needs it to write
    ``documents.jsonl``, the texts and the report. Chunks already copied (a resumed run) are kept."""
    import pyarrow.parquet as pq

    fs, root = _filesystem(docs_uri)
    files = []
    for chunk in range(n_chunks):
        path = workdir / f"_docs-{chunk:06d}.arrow"
        files.append(str(path))
        if path.exists():
            continue
        table = pq.read_table(f"{root}/part-{chunk:06d}.parquet", filesystem=fs).select(SCHEMA.names)
        tmp = path.with_name(path.name + ".part")
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, SCHEMA) as writer:
            writer.write_table(table.cast(SCHEMA))
        os.replace(tmp, path)
    return files


# ---------------------------------------------------------------- driver side


def _staging_dir(workdir: Path) -> tuple[str, bool]:
    """Where the run's documents and stage outputs go as Parquet, and whether it is shared storage:
    ``$COPYTRACE_SPARK_STAGING/copytrace-KEY`` (a folder the driver and every executor reach; KEY
    names the output folder and the scan's manifest, so ``--resume`` finds the same folder) or, for
    a ``local`` master, the run's work folder."""
    shared = os.environ.get(STAGING_ENV)
    if shared:
        h = hashlib.blake2b(digest_size=8)
        h.update(str(workdir.resolve()).encode("utf-8", "surrogateescape"))
        with contextlib.suppress(OSError):
            h.update((workdir / MANIFEST).read_bytes())
        return shared.rstrip("/") + f"/copytrace-{h.hexdigest()}", True
    return str((workdir / "_spark").resolve()), False


def _filesystem(uri: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if "://" not in uri:
        Path(uri).mkdir(parents=True, exist_ok=True)
        return pafs.LocalFileSystem(), uri
    fs, path = pafs.FileSystem.from_uri(uri.replace("s3a://", "s3://", 1))
    fs.create_dir(path, recursive=True)
    return fs, path


def _remove(staging: str) -> None:
    try:
        fs, path = _filesystem(staging)
        fs.delete_dir(path)
    except OSError:
        pass


def _read_marker(uri: str) -> dict[str, Any] | None:
    """The completion file of a stage's Parquet output (``DONE`` inside it), or None."""
    fs, root = _filesystem(uri)
    try:
        with fs.open_input_stream(f"{root}/{DONE}") as fh:
            got: dict[str, Any] = json.loads(fh.read())
            return got
    except (OSError, ValueError):
        return None


def _write_marker(uri: str, fields: dict[str, Any]) -> None:
    fs, root = _filesystem(uri)
    _write_bytes(fs, f"{root}/{DONE}", json.dumps(fields).encode("utf-8"))


# ---------------------------------------------------------------- candidates: packed shuffles
#
# Postings and hits cross Spark's shuffles as a few large rows, not one row each: a row holds the
# packed arrays (raw bytes of the numpy arrays) of one bucket of one chunk (postings) or of one
# destination partition of one task (hits). The JVM then moves bytes instead of converting,
# hashing and sorting millions of small rows; the Python functions unpack them without copies.
# Buckets are the top bits of a multiplicative mix of the 64-bit value (Fibonacci hashing, Knuth,
# TAOCP vol. 3, 6.4): winnowed hashes crowd the low end of the hash space, pair keys share their
# high bits, so neither is bucketed by its raw bits. Bucket ``k`` goes to partition ``k % parts``;
# ``dest_keys`` gives, for each partition, a key that Spark's hash partitioning sends there.

BUCKET_BITS = 10
BUCKETS = 1 << BUCKET_BITS
_FIB = np.uint64(0x9E3779B97F4A7C15)
PIECE = 1 << 22  # values a packed hit row holds at most (32 MiB of keys)
POSTINGS_BLOBS = "chunk int, bucket int, h binary, d binary, p binary"
HITS_BLOBS = "dest int, k binary, qa binary, qb binary"


def bucket_of(x: np.ndarray) -> np.ndarray:
    """Bucket (0 .. BUCKETS - 1) of 64-bit values."""
    return ((x.astype(np.uint64) * _FIB) >> np.uint64(64 - BUCKET_BITS)).astype(np.int32)


def _pack(values: np.ndarray, bounds: np.ndarray) -> pa.Array:
    """A binary column whose row ``i`` is the bytes of ``values[bounds[i]:bounds[i + 1]]``."""
    data = np.ascontiguousarray(values)
    offsets = (np.asarray(bounds, dtype=np.int64) * data.dtype.itemsize).astype(np.int32)
    return pa.Array.from_buffers(
        pa.binary(), len(bounds) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _unpack(col: pa.Array | pa.ChunkedArray, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """The values of a binary column of packed arrays, one after the other (a read-only view), and
    the number of values in each row."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    width = np.dtype(dtype).itemsize
    otype = np.int64 if pa.types.is_large_binary(col.type) else np.int32
    bufs = col.buffers()
    offs = np.frombuffer(bufs[1], otype, count=len(col) + 1, offset=col.offset * np.dtype(otype).itemsize)
    if bufs[2] is None or offs[-1] == offs[0]:
        return np.empty(0, dtype), np.zeros(len(col), np.int64)
    data = np.frombuffer(bufs[2], np.uint8)[offs[0] : offs[-1]].view(dtype)
    return data, np.diff(offs).astype(np.int64) // width


def postings_blobs(chunk: int, h: np.ndarray, d: np.ndarray, p: np.ndarray) -> pa.Table:
    """A chunk's postings, sorted by hash with documents ascending within a hash (as
    ``sorted_postings`` makes them), one row a non-empty bucket of the hash, each still sorted so
    (``candidates.merged_posting_lists`` merges such runs)."""
    b = bucket_of(h)
    order = np.argsort(b.astype(np.int16), kind="stable")  # a radix sort: buckets fit 16 bits
    b = b[order]
    bounds = np.searchsorted(b, np.arange(BUCKETS + 1))
    used = np.flatnonzero(np.diff(bounds) > 0)
    cut = np.concatenate((bounds[used], [bounds[-1]]))
    return pa.table(
        {
            "chunk": pa.array(np.full(used.shape[0], chunk, np.int32)),
            "bucket": pa.array(used.astype(np.int32)),
            "h": _pack(h[order].astype(np.uint64), cut),
            "d": _pack(d[order].astype(np.int32), cut),
            "p": _pack(p[order].astype(np.int32), cut),
        }
    )


def _murmur3_int(values: np.ndarray, seed: int = 42) -> np.ndarray:
    """Spark's ``Murmur3_x86_32.hashInt`` of each value (the hash of ``HashPartitioning``), signed."""
    m = np.uint64(0xFFFFFFFF)

    def rotl(x: np.ndarray, r: int) -> np.ndarray:
        return ((x << np.uint64(r)) | (x >> np.uint64(32 - r))) & m

    k1 = rotl((values.astype(np.uint64) & m) * np.uint64(0xCC9E2D51) & m, 15) * np.uint64(0x1B873593) & m
    h1 = (rotl(np.uint64(seed) ^ k1, 13) * np.uint64(5) + np.uint64(0xE6546B64)) & m
    h1 ^= np.uint64(4)
    h1 ^= h1 >> np.uint64(16)
    h1 = h1 * np.uint64(0x85EBCA6B) & m
    h1 ^= h1 >> np.uint64(13)
    h1 = h1 * np.uint64(0xC2B2AE35) & m
    h1 ^= h1 >> np.uint64(16)
    return h1.astype(np.uint32).view(np.int32).astype(np.int64)


def dest_keys(parts: int) -> np.ndarray:
    """For each partition ``t`` of ``repartition(parts, key)`` on an int column, the smallest key
    that lands in ``t`` (Spark places a row in ``pmod(murmur3(key, 42), parts)``)."""
    n = 8 * parts
    while True:
        t = _murmur3_int(np.arange(n, dtype=np.int64)) % parts
        seen, first = np.unique(t, return_index=True)
        if seen.shape[0] == parts:
            return first.astype(np.int32)  # ``seen`` is 0 .. parts - 1, in order
        n *= 2


def _scatter(keys: np.ndarray, qa: np.ndarray, qb: np.ndarray, dest: np.ndarray) -> Iterator[pa.RecordBatch]:
    """Hits as packed rows (dest, k, qa, qb), one batch a destination partition (or piece of one),
    each sorted by pair key."""
    parts = dest.shape[0]
    t = bucket_of(keys) % parts
    order = np.lexsort((keys, t))
    t = t[order]
    keys, qa, qb = keys[order], qa[order].astype(np.int32), qb[order].astype(np.int32)
    bounds = np.searchsorted(t, np.arange(parts + 1))
    for part in range(parts):
        for lo in range(int(bounds[part]), int(bounds[part + 1]), PIECE):
            cut = np.array([0, min(PIECE, int(bounds[part + 1]) - lo)])
            hi = lo + int(cut[1])
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([dest[part]], pa.int32()),
                    _pack(keys[lo:hi], cut),
                    _pack(qa[lo:hi], cut),
                    _pack(qb[lo:hi], cut),
                ],
                names=["dest", "k", "qa", "qb"],
            )


def hits_fn(
    offsets: np.ndarray, dest: np.ndarray, max_df: int, drop: np.ndarray
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function over a whole partition of packed postings (every posting of a hash is
    in one partition): ``candidates.pair_hits`` on all of them (document index = chunk offset +
    number in the chunk) but those of the documents in ``drop`` (sorted: the members of large
    groups of identical texts, ``cluster.mass_copies``, as the local engine drops them), the hits
    packed by destination partition of their pair key."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        hs, ds, ps, ns, chunks = [], [], [], [], []
        for rb in batches:
            if rb.num_rows == 0:
                continue
            h, n = _unpack(rb.column("h"), np.uint64)
            d, _ = _unpack(rb.column("d"), np.int32)
            p, _ = _unpack(rb.column("p"), np.int32)
            chunk = rb.column("chunk").to_numpy()
            hs.append(h)
            ds.append(d.astype(np.int64) + np.repeat(offsets[chunk], n))
            ps.append(p)
            ns.append(n)
            chunks.append(chunk)
        if hs:
            # every row is a run sorted by (hash, document); merged in chunk order, a hash's
            # documents ascend from run to run (rows of one chunk hold different hashes)
            n_all, chunk_all = np.concatenate(ns), np.concatenate(chunks)
            order = np.argsort(chunk_all, kind="stable")
            sizes = n_all[order]
            bounds = cand.run_bounds(sizes)
            # the rows' values in chunk order: row r's values move from its start to its new one
            take = np.arange(bounds[-1]) + np.repeat(cand.run_bounds(n_all)[:-1][order] - bounds[:-1], sizes)
            h, d, p = np.concatenate(hs)[take], np.concatenate(ds)[take], np.concatenate(ps)[take]
            del hs, ds, ps, take
            keep = cand.kept_postings(d, drop)
            if keep is not None:  # a subset keeps each run's order; a run's bounds count what it keeps
                bounds = np.concatenate(([0], np.cumsum(keep)))[bounds]
                h, d, p = h[keep], d[keep], p[keep]
            lists = cand.merged_posting_lists(h, d, p, bounds, max_df)
            del h, d, p
            keys, qa, qb = cand.emit_hits(*lists, max_df)
            del lists
            yield from _scatter(keys, qa, qb, dest)

    return run


def support_fn(s: Settings) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function over a whole partition of packed hits (every hit of a pair is in one
    partition) -> candidate pairs (a, b) by ``candidates.supported_pairs`` (the two-hit rule)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        ks, qas, qbs = [], [], []
        for rb in batches:
            if rb.num_rows == 0:
                continue
            ks.append(_unpack(rb.column("k"), np.uint64)[0])
            qas.append(_unpack(rb.column("qa"), np.int32)[0])
            qbs.append(_unpack(rb.column("qb"), np.int32)[0])
        if ks:
            a, b = cand.supported_pairs(
                np.concatenate(ks),
                np.concatenate(qas),
                np.concatenate(qbs),
                s.min_shared,
                s.support_window,
                s.min_evidence,
            )
            yield pa.RecordBatch.from_arrays(
                [pa.array(a.astype(np.int64)), pa.array(b.astype(np.int64))], names=["a", "b"]
            )

    return run


def candidate_pairs(
    spark: SparkSession,
    postings_uri: str,
    offsets: np.ndarray,
    n_postings: int,
    parallelism: int,
    s: Settings,
    drop: np.ndarray,
) -> DataFrame:
    """Candidate pairs (a, b), a < b, by the local engine's own functions: the chunks' packed
    postings hash-partitioned by bucket, ``candidates.pair_hits`` on each partition (the postings of
    the documents in ``drop`` left out); the packed hits hash-partitioned by pair key,
    ``candidates.supported_pairs`` on each partition. Partitions are sized as the local engine sizes
    its hash ranges (``memory_mb``, about 64 bytes a posting), at least four a core."""
    from pyspark.sql import functions as F

    budget = max(16, s.memory_mb // 2) * 1024 * 1024
    parts = min(BUCKETS, max(4 * parallelism, -(-n_postings * 64 // budget)))
    dest = dest_keys(parts)
    to_dest = F.element_at(
        F.array(*[F.lit(int(k)) for k in dest]), F.pmod(F.col("bucket"), F.lit(parts)) + 1
    ).cast("int")
    postings = spark.read.schema(POSTINGS_BLOBS).parquet(postings_uri).withColumn("dest", to_dest)
    hits = postings.repartition(parts, "dest").mapInArrow(hits_fn(offsets, dest, s.max_df, drop), HITS_BLOBS)
    return hits.repartition(parts, "dest").mapInArrow(support_fn(s), "a long, b long")


def estimated_postings(chars: int, s: Settings) -> int:
    """Postings a corpus of ``chars`` characters will give, for sizing partitions: winnowing keeps
    about 2 / (w + 1) of the n-grams, news text has about one word in 6 characters, and about
    half the words make evidence keys, sampled at ``fingerprint.EVIDENCE_RATE`` or more."""
    from ..fingerprint import EVIDENCE_RATE

    evidence = chars / 6 / 2 * EVIDENCE_RATE if s.min_evidence > 0 else 0.0
    return int(chars / 6 * 2 / (s.winnow_window + 1) + evidence) + 1


def warm_fn(s: Settings) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function loading copytrace's compiled functions in a Python worker."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from .local import warm_up

        warm_up(s)
        yield from batches

    return run


def filter_candidates(
    spark: SparkSession, pairs: DataFrame, dates: list[str | None], sources: list[str | None], s: Settings
) -> DataFrame:
    """The date window and same-source filters of the local engine, as joins on per-document keys."""
    from pyspark.sql import functions as F

    if s.date_window_days is None and not s.exclude_same_source:
        return pairs
    days = np.array(
        [(d.toordinal() if (d := parse_date(x)) is not None else _UNKNOWN_DAY) for x in dates], dtype=np.int64
    )
    codes: dict[str, int] = {}
    src = np.array(
        [codes.setdefault(x, len(codes)) if x is not None else -1 - i for i, x in enumerate(sources)],
        dtype=np.int64,
    )
    keys = spark.createDataFrame(
        pa.table({"i": np.arange(len(dates), dtype=np.int64), "day": days, "src": src})
    )
    ka = keys.select(F.col("i").alias("a"), F.col("day").alias("day_a"), F.col("src").alias("src_a"))
    kb = keys.select(F.col("i").alias("b"), F.col("day").alias("day_b"), F.col("src").alias("src_b"))
    joined = pairs.join(ka, "a").join(kb, "b")
    keep = F.lit(True)
    if s.date_window_days is not None:
        known = (F.col("day_a") > _UNKNOWN_DAY) & (F.col("day_b") > _UNKNOWN_DAY)
        keep = keep & (~known | (F.abs(F.col("day_a") - F.col("day_b")) <= s.date_window_days))
    if s.exclude_same_source:
        keep = keep & (F.col("src_a") != F.col("src_b"))
    return joined.where(keep).select("a", "b")


def pairs_per_a(cands_uri: str, n_docs: int) -> pa.Table:
    """The candidate pairs each ``a`` has (for the align chunks, and so their number): the driver
    streams the ``a`` column of the candidates' Parquet files (no Spark job: one would cost a
    shuffle and its scheduling for what is a count), holding one count a document."""
    import pyarrow.dataset as ds

    fs, root = _filesystem(cands_uri)
    counts = np.zeros(max(1, n_docs), dtype=np.int64)
    for rb in ds.dataset(root, format="parquet", filesystem=fs).to_batches(columns=["a"]):
        counts += np.bincount(rb.column("a").to_numpy(), minlength=counts.shape[0])
    a = np.flatnonzero(counts)
    return pa.table({"a": pa.array(a.astype(np.int64)), "count": pa.array(counts[a])})


def chunk_starts(per_a: pa.Table, n_pairs: int, parallelism: int) -> np.ndarray:
    """First ``a`` of each align chunk: consecutive ``a`` values holding about ``CHUNK_PAIRS`` pairs
    (fewer when there are few pairs, so that every core gets work)."""
    a = per_a.column("a").to_numpy()
    c = per_a.column("count").to_numpy()
    order = np.argsort(a, kind="stable")
    a, c = a[order], c[order]
    target = max(1, min(CHUNK_PAIRS, -(-n_pairs // (4 * max(1, parallelism)))))
    before = np.concatenate(([0], np.cumsum(c)[:-1]))
    chunk = before // target
    first = np.concatenate(([True], chunk[1:] != chunk[:-1]))
    return a[first].astype(np.int64)


def scan_spark(
    inputs: list[str] | list[Document],
    workdir: Path,
    pairs_out: Path,
    s: Settings,
    progress: Any,
    *,
    master: str | None = None,
    warn: Callable[[str], None] | None = None,
    resumed: bool = False,
) -> tuple[ScanState, dict[str, Any]]:
    """Run read → fingerprint → candidates → align on Spark; write ``pairs_out``; return state and
    document columns exactly as ``engines.local.scan_local`` does. ``inputs`` are paths (or
    Documents); with ``resumed``, stages whose output the work folder (or the staging folder) holds
    complete are not run again."""
    _pyspark()
    with warnings.catch_warnings():
        # pyspark warns on import that it does not support pandas >= 3; copytrace's Spark jobs use Arrow only
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        return _scan(inputs, workdir, pairs_out, s, progress, master, warn, resumed)


def _scan(
    inputs: list[str] | list[Document],
    workdir: Path,
    pairs_out: Path,
    s: Settings,
    progress: Any,
    master: str | None,
    warn: Callable[[str], None] | None,
    resumed: bool,
) -> tuple[ScanState, dict[str, Any]]:
    state = ScanState()
    t0 = time.perf_counter()
    staging, shared = _staging_dir(workdir)
    if shared and not resumed:
        _remove(staging)
    docs_uri = f"{staging}/docs"
    # staging on this machine (a local master): the chunks are saved as the run's Arrow store itself
    ipc = not shared
    owned = False
    try:
        # the driver cuts the inputs (and reads those only it reads) while the JVM starts (the JVM in
        # this thread: a child process may be tied to the thread that started it, e.g. by PR_SET_PDEATHSIG)
        with ThreadPoolExecutor(1) as pool:
            planning = pool.submit(plan_chunks, inputs, docs_uri, s, warn, resumed, ipc)
            try:
                spark, owned = start_session(master, s, workdir)
                if not shared and not (spark.sparkContext.master or "").startswith("local"):
                    raise EngineError(
                        f"a cluster master needs shared storage for the documents: set {STAGING_ENV} to a "
                        "folder or URI (hdfs://, s3a://, gs://, file:// on a shared mount) that the driver "
                        "and every executor can read and write"
                    )
                # Python workers start and load the compiled stage functions while the driver plans
                # (when planning is done already, as it is for JSONL and Parquet, the read job starts
                # them: a job less)
                if not planning.done():
                    par = spark.sparkContext.defaultParallelism
                    spark.range(par, numPartitions=par).mapInArrow(warm_fn(s), "id long").count()
                rows = planning.result()
            except BaseException:
                with contextlib.suppress(BaseException):
                    planning.result()
                raise
        metas = _read_chunks(spark, rows, docs_uri, workdir, resumed, progress, warn, s, ipc)
        ids: list[str] = []
        dates: list[str | None] = []
        sources: list[str | None] = []
        wires: list[str | None] = []
        offsets = np.zeros(len(metas) + 1, dtype=np.int64)
        chars = 0
        n_chunks = len(metas)
        for c, meta in enumerate(metas):
            ids.extend(meta["ids"])
            dates.extend(meta["dates"])
            sources.extend(meta["sources"])
            wires.extend(meta["wires"])
            offsets[c + 1] = len(ids)
            chars += int(meta["chars"])
        whole = np.frombuffer(bytes.fromhex("".join(meta["whole"] for meta in metas)), dtype="<u8")
        del metas  # the per-document columns are kept once
        copies = mass_copies(whole, s.max_df)
        del whole
        state.n_docs = len(ids)
        state.stages["read+fingerprint"] = time.perf_counter() - t0
        with ThreadPoolExecutor(1) as pool:
            # the driver's own copy of the documents (for documents.jsonl and the report) is made
            # while the executors work
            if ipc:
                storing = pool.submit(lambda: [f"{docs_uri}/{doc_file(c, True)}" for c in range(n_chunks)])
            else:
                storing = pool.submit(arrow_store, docs_uri, n_chunks, workdir)
            try:
                edges, relations, n_candidates = _run(
                    spark,
                    staging,
                    offsets,
                    chars,
                    state,
                    s,
                    progress,
                    dates,
                    sources,
                    pairs_out,
                    workdir,
                    storing,
                    shared,
                    copies,
                )
            finally:
                with contextlib.suppress(BaseException):
                    storing.result()
            store_files = storing.result()
    except InputError:
        if shared:
            _remove(staging)  # bad input is not resumable: the input has to change
        raise
    finally:
        if owned:
            spark.stop()
            finish_recording()
    if shared:
        _remove(staging)
    state.n_candidates = n_candidates
    state.relations = relations
    state.n_pairs = sum(relations.values())
    columns = {
        "ids": ids,
        "dates": dates,
        "sources": sources,
        "wires": wires,
        "store": store_files,
        "edges": edges,
    }
    return state, columns


def _read_chunks(
    spark: SparkSession,
    rows: list[tuple[int, str, str, int, int, int]],
    docs_uri: str,
    workdir: Path,
    resumed: bool,
    progress: Any,
    warn: Callable[[str], None] | None,
    s: Settings,
    ipc: bool,
) -> list[dict[str, Any]]:
    """Read every chunk not read before on the executors; then, in input order, the first input
    error or repeated id raises ``InputError`` as the local engine's does, and each chunk is
    recorded in the work folder (``_chunk-NNNNNN.json``, as the local engine's chunks)."""
    task = progress.add_task("read", total=len(rows))
    got: dict[int, dict[str, Any]] = {}
    todo = []
    for row in rows:
        meta = load_chunk_meta(docs_uri, row[0], ipc) if resumed else None
        if meta is not None:
            got[row[0]] = meta
        else:  # (a chunk the driver read is saved already: the executors fingerprint it)
            todo.append(row)
    progress.advance(task, len(got))
    if todo:
        # a few chunks a partition (each task reads its chunks one after another), at least 4
        # tasks a core, so that the executors read in parallel and evenly
        par = spark.sparkContext.defaultParallelism
        tasks = max(min(len(todo), 4 * par), -(-len(todo) // READ_CHUNKS_PER_TASK))
        chunks = spark.range(len(todo), numPartitions=tasks).mapInArrow(
            read_arrow_fn(docs_uri, todo, s, ipc), "chunk long, meta string"
        )
        for row in chunks.collect():
            got[row.chunk] = json.loads(row.meta)
    metas = [got[row[0]] for row in rows]
    first_seen: dict[str, int] = {}  # id -> input index (one int an id, as the local engine keeps)
    starts: list[int] = []
    for c, meta in enumerate(metas):
        if "error" in meta:
            raise InputError(*meta["error"])
        for message in meta["warnings"]:
            if warn is not None:
                warn(message)
        first_index = starts[-1] + len(metas[c - 1]["ids"]) if starts else 0
        starts.append(first_index)
        for k, doc_id in enumerate(meta["ids"]):
            i0 = first_seen.setdefault(doc_id, first_index + k)
            if i0 != first_index + k:
                c0 = bisect.bisect_right(starts, i0) - 1
                k0 = i0 - starts[c0]
                first = metas[c0]
                raise InputError(
                    meta["where"],
                    f"duplicate id {doc_id!r} (first seen in {first['where']}: {locate(first, k0)})",
                    locate(meta, k),
                )
    for c, meta in enumerate(metas):
        if checkpoint.load_chunk(str(workdir), c) is None:
            checkpoint.save_chunk(str(workdir), c, meta)
    progress.update(task, completed=len(rows))
    return metas


def _run(
    spark: SparkSession,
    staging: str,
    offsets: np.ndarray,
    chars: int,
    state: ScanState,
    s: Settings,
    progress: Any,
    dates: list[str | None],
    sources: list[str | None],
    pairs_out: Path,
    workdir: Path,
    storing: Future[list[str]],
    shared: bool,
    copies: tuple[np.ndarray, np.ndarray],
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], dict[str, int], int]:
    """candidates, align and the driver's write of ``pairs.jsonl``; ``copies`` are the (first,
    member) pairs of ``cluster.mass_copies``. Each stage's output is kept with a completion file
    written last, and a stage whose output is complete is skipped: candidate pairs as Parquet in
    ``staging/cands``, related pairs in ``staging/results`` (each with ``DONE``), ``pairs.jsonl``
    with the clustering edges (``_spark-edges.npy``) and ``_spark-pairs.json`` in the work folder."""
    from pyspark.sql import functions as F

    pairs_done = workdir / PAIRS_DONE
    edges_path = workdir / EDGES_FILE
    with contextlib.suppress(OSError, ValueError):
        done = json.loads(pairs_done.read_bytes())
        rec = np.load(edges_path)
        edges = (rec["a"], rec["b"], rec["s"].astype(np.bool_), rec["w"])
        return edges, dict(done["relations"]), int(done["candidates"])

    sc = spark.sparkContext
    n_docs = int(offsets[-1])
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.bool_), np.empty(0, np.int64))
    if n_docs == 0:
        pairs_out.write_text("", encoding="utf-8")
        return empty, {}, 0

    docs_uri = f"{staging}/docs"
    ipc = not shared
    t0 = time.perf_counter()
    cands_uri = f"{staging}/cands"
    marker = _read_marker(cands_uri)
    per_a: pa.Table | None = None
    if marker is None:
        task = progress.add_task("candidates", total=None)
        postings_uri = postings_uri_of(docs_uri)
        _split_files(spark, postings_uri)
        first, member = copies
        pairs = candidate_pairs(
            spark, postings_uri, offsets, estimated_postings(chars, s), sc.defaultParallelism, s, member
        )
        if member.shape[0]:
            # each member paired with its group's first, where the local engine adds them
            # (``cluster.with_copies``): a member is in no other pair, its postings were dropped
            pairs = pairs.unionByName(_pairs_frame(spark, first, member))
        if s.semantic:
            pairs = pairs.unionByName(_neighbours(spark, storing.result(), dates, s)).distinct()
        cands_df = filter_candidates(spark, pairs, dates, sources, s)
        cands_df.write.mode("overwrite").parquet(cands_uri)
        per_a = pairs_per_a(cands_uri, n_docs)
        marker = {"candidates": int(per_a.column("count").to_numpy().sum())}
        _write_marker(cands_uri, marker)
        progress.update(task, total=n_docs, completed=n_docs)
        checkpoint.crash_point("spark-candidates")
    n_candidates = int(marker["candidates"])
    state.stages["candidates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    task = progress.add_task("align", total=n_candidates)
    results_uri = f"{staging}/results"
    done_align = _read_marker(results_uri) if n_candidates else {"chunks": 0}
    if done_align is None:
        cands = spark.read.schema(CANDS_SCHEMA).parquet(cands_uri)
        if per_a is None:
            per_a = pairs_per_a(cands_uri, n_docs)
        starts = chunk_starts(per_a, n_candidates, sc.defaultParallelism)
        # one chunk a partition, each named by a key hash partitioning sends there, so that every
        # task is one chunk (adaptive execution neither merges nor splits explicit repartitions);
        # each chunk's related pairs are saved as a file of their own, sorted (a chunk is a range of
        # ``a``), so the driver streams them in order with no sort and no Spark job
        n_chunks = int(starts.shape[0])
        chunked = cands.mapInArrow(chunk_fn(starts, dest_keys(n_chunks)), "chunk int, c int, a long, b long")
        _remove(results_uri)
        if ipc:
            # the documents are read from the run's store on this machine: no text crosses Spark
            files = storing.result()
            results = chunked.repartition(n_chunks, "chunk").mapInArrow(
                align_store_fn(files, offsets, results_uri, s), "c int, n long"
            )
        else:
            _split_files(spark, docs_uri)
            # the documents each chunk names, each once (new column names: the cogroup's sides must
            # not share attributes)
            need = (
                chunked.select(F.col("chunk").alias("k"), F.col("a").alias("idx"))
                .union(chunked.select(F.col("chunk").alias("k"), F.col("b").alias("idx")))
                .distinct()
            )
            # ``need`` is small (two numbers a pair): broadcast it, so the texts are shuffled once
            docs_df = indexed_docs(spark, docs_uri, offsets).withColumn("idx", F.col("idx").cast("long"))
            needed_docs = docs_df.join(F.broadcast(need), "idx")
            results = (
                chunked.repartition(n_chunks, "chunk")
                .groupBy("chunk")
                .cogroup(needed_docs.repartition(n_chunks, "k").groupBy("k"))
                .applyInArrow(align_fn(s, results_uri), "c int, n long")
            )
        results.collect()
        done_align = {"candidates": n_candidates, "chunks": n_chunks}
        _write_marker(results_uri, done_align)
        checkpoint.crash_point("spark-align")
    edges, relations = _write_pairs(results_uri, int(done_align["chunks"]), pairs_out, progress, task)
    rec = np.empty(edges[0].shape[0], dtype=[("a", "<i8"), ("b", "<i8"), ("s", "u1"), ("w", "<i8")])
    rec["a"], rec["b"], rec["s"], rec["w"] = edges
    with open(edges_path, "wb") as fh:
        np.save(fh, rec)
    checkpoint.write_atomic(
        pairs_done, json.dumps({"relations": relations, "candidates": n_candidates}).encode("utf-8")
    )
    progress.update(task, completed=n_candidates)
    state.stages["align"] = time.perf_counter() - t0
    return edges, relations, n_candidates


def _split_files(spark: SparkSession, uri: str) -> None:
    """About four input splits a core for the next read of the Parquet files in ``uri`` (the chunks'
    row groups are small enough to split)."""
    fs, root = _filesystem(uri)
    size = sum(int(f.size or 0) for f in fs.get_file_info(_selector(root)) if f.base_name.startswith("part-"))
    split = min(128 << 20, max(1 << 20, size // (4 * spark.sparkContext.defaultParallelism)))
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(split))


def _selector(root: str) -> Any:
    import pyarrow.fs as pafs

    return pafs.FileSelector(root, allow_not_found=True)


def _neighbours(
    spark: SparkSession, store_files: list[str], dates: list[str | None], s: Settings
) -> DataFrame:
    """same_event candidates (``--semantic``): the local engine's ``semantic.add_neighbours`` run on
    the driver over the run's Arrow store, read a batch at a time (the embeddings of every
    document's lead are held, as the local engine holds them); only the neighbour pairs go to Spark."""
    from ..semantic import add_neighbours

    none = np.empty(0, np.int64)
    na, nb = add_neighbours(none, none, store_files, dates, s)
    return _pairs_frame(spark, na, nb)


def _pairs_frame(spark: SparkSession, a: np.ndarray, b: np.ndarray) -> DataFrame:
    """Pairs the driver made, as a DataFrame (a long, b long)."""
    return spark.createDataFrame(pa.table({"a": pa.array(a, pa.int64()), "b": pa.array(b, pa.int64())}))


def _write_pairs(
    results_uri: str, n_chunks: int, pairs_out: Path, progress: Any, task: Any
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], dict[str, int]]:
    """Stream the related pairs, chunk file after chunk file (each sorted by (a, b), the chunks
    ranges of ``a`` in order), into ``pairs_out``; keep only the compact edges clustering needs.
    The driver holds one chunk's pairs at a time."""
    edge_a: list[np.ndarray] = []
    edge_b: list[np.ndarray] = []
    edge_w: list[np.ndarray] = []
    edge_s: list[np.ndarray] = []
    relations: dict[str, int] = {}
    fs, root = _filesystem(results_uri)
    with open(pairs_out, "w", encoding="utf-8") as fh:
        for c in range(n_chunks):
            with fs.open_input_file(f"{root}/part-{c:06d}.arrow") as src:
                t = pa.ipc.open_file(src).read_all()
            if t.num_rows == 0:
                continue
            fh.write("".join(line + "\n" for line in t.column("line").to_pylist()))
            edge_a.append(t.column("a").to_numpy())
            edge_b.append(t.column("b").to_numpy())
            edge_w.append(t.column("words").to_numpy())
            edge_s.append(t.column("strong").to_numpy(zero_copy_only=False).astype(np.bool_))
            for r in t.column("relation").to_pylist():
                relations[r] = relations.get(r, 0) + 1
            progress.advance(task, t.num_rows)

    def cat(xs: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(xs).astype(dtype) if xs else np.empty(0, dtype=dtype)

    edges = (cat(edge_a, np.int64), cat(edge_b, np.int64), cat(edge_s, np.bool_), cat(edge_w, np.int64))
    return edges, relations
