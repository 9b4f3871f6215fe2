"""Spark engine: the local engine's stage functions on Spark DataFrames, with identical output.

Stages and where their data lives (``docs`` is the driver's stream of Documents, input order):

1. read        driver, streaming: the Arrow IPC store of the run (as the local engine) and a Parquet
               copy with an ``idx`` column (input order) in the staging folder, which every
               executor can read (the run's folder for a ``local`` master, shared storage otherwise)
2. fingerprint executors, ``mapInArrow`` over the staged documents: ``fingerprint_postings``
               gives postings (hash, doc index, n-gram position); the uint64 hash travels as the
               int64 with the same bits
3. candidates  two shuffles: postings hash-partitioned by fingerprint, ``candidates.pair_hits`` on
               each partition (posting lists longer than ``max_df`` dropped, every hit a < b with
               its positions); hits hash-partitioned by pair, ``candidates.supported_pairs`` on
               each (the two-hit rule); then the optional date window and same-source filters as
               joins
4. align       executors: candidate pairs in chunks of consecutive ``a`` (boundaries from the
               per-``a`` counts), each chunk cogrouped with the documents it needs (a join ships
               every text once per chunk), ``compare_chunk`` + ``encode_pair``
5. write       the results sorted by (a, b) stream to the driver one partition at a time
               (``toLocalIterator``) and are written in that order; the driver keeps only the
               compact edge arrays that clustering needs, as the local engine does

Nothing collects postings, candidate pairs or results to the driver as a whole. pyspark is imported
lazily; a missing pyspark raises ``EngineError`` naming ``pip install 'copytrace[spark]'``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .. import candidates as cand
from ..errors import EngineError, InputError
from ..relate import parse_date
from ..store import SCHEMA, StoreReader, write_store
from ..types import Document, Settings
from .local import PAIRS_PER_TASK, ScanState, compare_chunk, encode_pair, fingerprint_postings

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

DEFAULT_MASTER = "local[*]"
INSTALL_HINT = "pip install 'copytrace[spark]'"
STAGING_ENV = "COPYTRACE_SPARK_STAGING"

POSTINGS_SCHEMA = "h long, d int, p int"
RESULTS_SCHEMA = "a long, b long, line string, relation string, words long, strong boolean"
_UNKNOWN_DAY = -(1 << 40)

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
        conf["spark.sql.shuffle.partitions"] = str(max(4, 4 * cores))
    return conf


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


def _docs_of(batch: pa.RecordBatch | pa.Table) -> list[Document]:
    """Documents of staged rows, field for field as ``store.StoreReader`` rebuilds them."""
    cols = {name: batch.column(name).to_pylist() for name in SCHEMA.names}
    return [
        Document(
            id=cols["id"][k],
            text=cols["text"][k],
            date=cols["date"][k],
            source=cols["source"][k],
            title=cols["title"][k],
            url=cols["url"][k],
            path=cols["path"][k],
            meta=json.loads(cols["meta"][k]) if cols["meta"][k] else {},
        )
        for k in range(batch.num_rows)
    ]


def fingerprint_fn(s: Settings) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function: staged documents -> postings (h: hash bits as int64, d: doc index,
    p: n-gram position)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for rb in batches:
            if rb.num_rows == 0:
                continue
            idx = rb.column("idx").to_numpy().astype(np.int32)
            h, d, p = fingerprint_postings(_docs_of(rb), 0, s)
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(h.astype(np.uint64).view(np.int64)),
                    pa.array(idx[d.astype(np.int64)]),
                    pa.array(p.astype(np.int32)),
                ],
                names=["h", "d", "p"],
            )

    return run


def chunk_fn(starts: np.ndarray) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function: candidate pairs (a, b) -> (chunk, a, b); chunk ``k`` holds every
    pair whose ``a`` lies in ``[starts[k], starts[k + 1])``."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for rb in batches:
            a = rb.column("a").to_numpy()
            chunk = np.searchsorted(starts, a, side="right").astype(np.int64) - 1
            yield pa.RecordBatch.from_arrays(
                [pa.array(chunk), rb.column("a"), rb.column("b")], names=["chunk", "a", "b"]
            )

    return run


def align_fn(s: Settings) -> Callable[[pa.Table, pa.Table], pa.Table]:
    """Cogroup function: one chunk's pairs and the documents they name -> encoded related pairs."""

    def run(pairs_t: pa.Table, docs_t: pa.Table) -> pa.Table:
        a = pairs_t.column("a").to_numpy()
        b = pairs_t.column("b").to_numpy()
        order = np.lexsort((b, a))
        pairs = list(zip(a[order].tolist(), b[order].tolist(), strict=True))
        idx = docs_t.column("idx").to_pylist()
        docs = dict(zip(idx, _docs_of(docs_t), strict=True))
        rows = [encode_pair(x, y, pair) for x, y, pair in compare_chunk(pairs, docs, s)] if pairs else []
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

    return run


# ---------------------------------------------------------------- driver side


def _staging_dir(workdir: Path, local: bool) -> str:
    """Where the documents are staged as Parquet: ``$COPYTRACE_SPARK_STAGING`` (shared storage the
    driver and every executor reach) or, for a ``local`` master, the run's folder."""
    shared = os.environ.get(STAGING_ENV)
    if shared:
        return shared.rstrip("/") + f"/copytrace-{os.getpid()}-{time.time_ns()}"
    if not local:
        raise EngineError(
            f"a cluster master needs shared storage for the documents: set {STAGING_ENV} to a folder or URI "
            "(hdfs://, s3://, gs://, file:// on a shared mount) that the driver and every executor can read"
        )
    return str((workdir / "_spark").resolve())


def _filesystem(uri: str) -> tuple[Any, str]:
    import pyarrow.fs as pafs

    if "://" not in uri:
        Path(uri).mkdir(parents=True, exist_ok=True)
        return pafs.LocalFileSystem(), uri
    fs, path = pafs.FileSystem.from_uri(uri.replace("s3a://", "s3://", 1))
    fs.create_dir(path, recursive=True)
    return fs, path


def stage_documents(store_path: str, staging: str, rows_per_group: int) -> tuple[str, int]:
    """Copy the run's Arrow store to ``staging/docs.parquet`` with an ``idx`` (input order) column;
    returns its URI and size in bytes."""
    import pyarrow.parquet as pq

    fs, root = _filesystem(staging)
    schema = pa.schema([("idx", pa.int32()), *SCHEMA])
    reader = StoreReader(store_path)
    first = 0
    try:
        with pq.ParquetWriter(f"{root}/docs.parquet", schema, filesystem=fs, compression="zstd") as writer:
            for b in range(reader.num_batches):
                rb = reader.batch(b)
                idx = pa.array(np.arange(first, first + rb.num_rows, dtype=np.int32))
                table = pa.Table.from_batches([rb]).add_column(0, "idx", idx)
                writer.write_table(table, row_group_size=rows_per_group)
                first += rb.num_rows
    finally:
        reader.close()
    return f"{staging}/docs.parquet", int(fs.get_file_info(f"{root}/docs.parquet").size or 0)


def _remove(staging: str) -> None:
    try:
        fs, path = _filesystem(staging)
        fs.delete_dir(path)
    except OSError:
        pass


def whole_partition(
    fn: Callable[[pa.Table], pa.Table],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """``mapInArrow`` function applying ``fn`` once to a whole partition (all its batches as one
    table): after ``repartition(n, key)`` every row of a key is in that one call, with no sort."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        got = [b for b in batches if b.num_rows]
        if got:
            yield from fn(pa.Table.from_batches(got)).to_batches()

    return run


def hits_fn(max_df: int) -> Callable[[pa.Table], pa.Table]:
    """Postings of whole hashes -> hits (pair key a << 32 | b, position in a, position in b) by
    ``candidates.pair_hits``."""

    def run(t: pa.Table) -> pa.Table:
        h = t.column("h").to_numpy().view(np.uint64)
        keys, qa, qb = cand.pair_hits(h, t.column("d").to_numpy(), t.column("p").to_numpy(), max_df)
        return pa.table(
            {
                "key": pa.array(keys.view(np.int64)),
                "pa": pa.array(qa.astype(np.int32)),
                "pb": pa.array(qb.astype(np.int32)),
            }
        )

    return run


def support_fn(s: Settings) -> Callable[[pa.Table], pa.Table]:
    """Every hit of whole pairs -> candidate pairs (a, b) by ``candidates.supported_pairs`` (the
    two-hit rule)."""

    def run(t: pa.Table) -> pa.Table:
        keys = t.column("key").to_numpy().view(np.uint64)
        qa, qb = t.column("pa").to_numpy(), t.column("pb").to_numpy()
        a, b = cand.supported_pairs(keys, qa, qb, s.min_shared, s.support_window)
        return pa.table({"a": pa.array(a.astype(np.int64)), "b": pa.array(b.astype(np.int64))})

    return run


def candidate_pairs(postings: DataFrame, n_postings: int, parallelism: int, s: Settings) -> DataFrame:
    """Candidate pairs (a, b), a < b, by the local engine's own functions: postings hash-partitioned
    by fingerprint, ``candidates.pair_hits`` on each partition; hits hash-partitioned by pair,
    ``candidates.supported_pairs`` on each partition. Partitions are sized as the local engine sizes
    its hash ranges (``memory_mb``, about 64 bytes a posting), at least four a core."""
    budget = max(16, s.memory_mb // 2) * 1024 * 1024
    parts = max(4 * parallelism, -(-n_postings * 64 // budget))
    hits = postings.repartition(parts, "h").mapInArrow(
        whole_partition(hits_fn(s.max_df)), "key long, pa int, pb int"
    )
    return hits.repartition(parts, "key").mapInArrow(whole_partition(support_fn(s)), "a long, b long")


def estimated_postings(store_path: str, s: Settings) -> int:
    """Postings a corpus will give, for sizing partitions: winnowing keeps about 2 / (w + 1) of the
    n-grams, and news text has about one word in 6 characters."""
    import pyarrow.compute as pc

    reader = StoreReader(store_path)
    try:
        chars = sum(
            int(pc.sum(pc.utf8_length(reader.batch(b).column("text"))).as_py() or 0)
            for b in range(reader.num_batches)
        )
    finally:
        reader.close()
    return int(chars / 6 * 2 / (s.winnow_window + 1)) + 1


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


def chunk_starts(per_a: pa.Table, n_pairs: int, parallelism: int) -> np.ndarray:
    """First ``a`` of each align chunk: consecutive ``a`` values holding about ``PAIRS_PER_TASK`` pairs
    (fewer when there are few pairs, so that every core gets work)."""
    a = per_a.column("a").to_numpy()
    c = per_a.column("count").to_numpy()
    order = np.argsort(a, kind="stable")
    a, c = a[order], c[order]
    target = max(1, min(PAIRS_PER_TASK, -(-n_pairs // (4 * max(1, parallelism)))))
    before = np.concatenate(([0], np.cumsum(c)[:-1]))
    chunk = before // target
    first = np.concatenate(([True], chunk[1:] != chunk[:-1]))
    return a[first].astype(np.int64)


def scan_spark(
    docs: Iterable[Document],
    workdir: Path,
    pairs_out: Path,
    s: Settings,
    progress: Any,
    *,
    master: str | None = None,
) -> tuple[ScanState, dict[str, Any]]:
    """Run read → fingerprint → candidates → align on Spark; write ``pairs_out``; return state and
    document columns exactly as ``engines.local.scan_local`` does."""
    _pyspark()
    with warnings.catch_warnings():
        # pyspark warns on import that it does not support pandas >= 3; copytrace's Spark jobs use Arrow only
        warnings.filterwarnings(
            "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
        )
        return _scan(docs, workdir, pairs_out, s, progress, master)


def _scan(
    docs: Iterable[Document], workdir: Path, pairs_out: Path, s: Settings, progress: Any, master: str | None
) -> tuple[ScanState, dict[str, Any]]:
    state = ScanState()
    store_path = str(workdir / "_docs.arrow")
    t0 = time.perf_counter()
    ids: list[str] = []
    dates: list[str | None] = []
    sources: list[str | None] = []
    # the driver reads the documents in a thread while the JVM starts (in this thread: a child
    # process may be tied to the thread that started it, e.g. by PR_SET_PDEATHSIG)
    with ThreadPoolExecutor(1) as pool:
        reading = pool.submit(_read, docs, store_path, s, progress, ids, dates, sources)
        try:
            spark, owned = start_session(master, s, workdir)
        except BaseException:
            with contextlib.suppress(BaseException):
                reading.result()
            raise
        try:
            # Python workers start and load the compiled stage functions while the read goes on
            par = spark.sparkContext.defaultParallelism
            spark.range(par, numPartitions=par).mapInArrow(warm_fn(s), "id long").count()
            reading.result()
        except BaseException:
            if owned:
                spark.stop()
            raise
    state.n_docs = len(ids)

    sc = spark.sparkContext
    local = (sc.master or "").startswith("local")
    staging = _staging_dir(workdir, local)
    edge_a: list[np.ndarray] = []
    edge_b: list[np.ndarray] = []
    edge_w: list[np.ndarray] = []
    edge_s: list[np.ndarray] = []
    try:
        parallelism = sc.defaultParallelism
        rows_per_group = max(1, min(s.batch_size, -(-state.n_docs // (4 * parallelism))))
        staged, size = stage_documents(store_path, staging, rows_per_group)
        # about four input splits per core (row groups are sized to match)
        split = min(128 << 20, max(1 << 20, size // (4 * parallelism)))
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(split))
        state.stages["read"] = time.perf_counter() - t0
        if state.n_docs:
            _run(
                spark,
                staged,
                estimated_postings(store_path, s),
                state,
                s,
                progress,
                dates,
                sources,
                pairs_out,
                (edge_a, edge_b, edge_w, edge_s),
            )
        else:
            pairs_out.write_text("", encoding="utf-8")
    finally:
        _remove(staging)
        if owned:
            spark.stop()

    def cat(xs: list[np.ndarray], dtype: Any) -> np.ndarray:
        return np.concatenate(xs) if xs else np.empty(0, dtype=dtype)

    columns = {
        "ids": ids,
        "dates": dates,
        "store": store_path,
        "edges": (cat(edge_a, np.int64), cat(edge_b, np.int64), cat(edge_s, np.bool_), cat(edge_w, np.int64)),
    }
    return state, columns


def _read(
    docs: Iterable[Document],
    store_path: str,
    s: Settings,
    progress: Any,
    ids: list[str],
    dates: list[str | None],
    sources: list[str | None],
) -> None:
    """Write the run's Arrow store in input order, keeping the per-document columns."""
    first_seen: dict[str, str] = {}
    task = progress.add_task("read", total=None)
    for batch in write_store(store_path, docs, s.batch_size):
        for d in batch:
            where = d.path or "input"
            if d.id in first_seen:
                raise InputError(
                    where,
                    f"duplicate id {d.id!r} (first seen in {first_seen[d.id]})",
                    f"record {len(ids) + 1}",
                )
            first_seen[d.id] = where
            ids.append(d.id)
            dates.append(d.date)
            sources.append(d.source)
        progress.advance(task, len(batch))
    progress.update(task, total=len(ids), completed=len(ids))


def _run(
    spark: SparkSession,
    staged: str,
    n_postings: int,
    state: ScanState,
    s: Settings,
    progress: Any,
    dates: list[str | None],
    sources: list[str | None],
    pairs_out: Path,
    edges: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]],
) -> None:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    sc = spark.sparkContext
    docs_df = spark.read.parquet(staged)

    t0 = time.perf_counter()
    task = progress.add_task("fingerprint+candidates", total=None)
    postings = docs_df.mapInArrow(fingerprint_fn(s), POSTINGS_SCHEMA)
    pairs = candidate_pairs(postings, n_postings, sc.defaultParallelism, s)
    cands = filter_candidates(spark, pairs, dates, sources, s).persist(StorageLevel.MEMORY_AND_DISK)
    state.n_candidates = cands.count()
    progress.update(task, total=state.n_docs, completed=state.n_docs)
    state.stages["fingerprint+candidates"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    task = progress.add_task("align", total=state.n_candidates)
    edge_a, edge_b, edge_w, edge_s = edges
    with open(pairs_out, "w", encoding="utf-8") as fh:
        if state.n_candidates:
            per_a = cands.groupBy("a").count().toArrow()
            starts = chunk_starts(per_a, state.n_candidates, sc.defaultParallelism)
            chunked = cands.mapInArrow(chunk_fn(starts), "chunk long, a long, b long")
            # the documents each chunk names, each once (new column names: the cogroup's sides must
            # not share attributes)
            need = (
                chunked.select(F.col("chunk").alias("k"), F.col("a").alias("idx"))
                .union(chunked.select(F.col("chunk").alias("k"), F.col("b").alias("idx")))
                .distinct()
            )
            # ``need`` is small (two numbers a pair): broadcast it, so the texts are shuffled once
            needed_docs = docs_df.withColumn("idx", F.col("idx").cast("long")).join(F.broadcast(need), "idx")
            results = (
                chunked.groupBy("chunk")
                .cogroup(needed_docs.groupBy("k"))
                .applyInArrow(align_fn(s), RESULTS_SCHEMA)
                .persist(StorageLevel.MEMORY_AND_DISK)
            )
            buf: list[Any] = []

            def flush() -> None:
                fh.write("".join(r.line + "\n" for r in buf))
                edge_a.append(np.array([r.a for r in buf], dtype=np.int64))
                edge_b.append(np.array([r.b for r in buf], dtype=np.int64))
                edge_w.append(np.array([r.words for r in buf], dtype=np.int64))
                edge_s.append(np.array([r.strong for r in buf], dtype=np.bool_))
                for r in buf:
                    state.relations[r.relation] = state.relations.get(r.relation, 0) + 1
                progress.advance(task, len(buf))
                buf.clear()

            for row in results.orderBy("a", "b").toLocalIterator(prefetchPartitions=True):
                buf.append(row)
                if len(buf) >= PAIRS_PER_TASK:
                    flush()
            if buf:
                flush()
            results.unpersist()
        progress.update(task, completed=state.n_candidates)
    cands.unpersist()
    state.n_pairs = sum(state.relations.values())
    state.stages["align"] = time.perf_counter() - t0
