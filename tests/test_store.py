"""The document store: documents read back by index equal the documents written."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from copytrace.store import StoreReader, write_chunk, write_store
from copytrace.types import Document


def _docs(first: int, n: int) -> list[Document]:
    out = []
    for k in range(first, first + n):
        out.append(
            Document(
                id=f"d{k}",
                text=("" if k % 7 == 0 else f"text {k} é 中文 😀 " * (k % 5 + 1)),
                date=None if k % 2 else f"2020-01-{k % 28 + 1:02d}",
                source=None if k % 3 else "Reuters",
                title=None if k % 4 else f"title {k}",
                url=None,
                path=f"/x/{k}.txt" if k % 5 == 0 else None,
                meta={"n": k, "tag": "ü"} if k % 6 == 0 else {},
            )
        )
    return out


def test_get_equals_written_documents_across_files_and_releases(tmp_path: Path) -> None:
    docs = _docs(0, 30) + _docs(30, 25) + _docs(55, 1)
    files = []
    for k, (lo, hi) in enumerate(((0, 30), (30, 55), (55, 56))):
        files.append(str(tmp_path / f"c{k}.arrow"))
        write_chunk(files[-1], docs[lo:hi])
    for reader in (StoreReader(files), StoreReader(files, np.array([0, 30, 55, 56]))):
        want = [3, 0, 29, 30, 31, 54, 55, 12, 12]
        got = reader.get(want)
        assert sorted(got) == sorted(set(want))
        assert all(got[i] == docs[i] for i in got)
        # the same reader again (files still mapped), then after an unmap
        assert reader.get(range(56)) == dict(enumerate(docs))
        reader.release()
        assert reader.get([55, 1]) == {1: docs[1], 55: docs[55]}
        assert reader.get([]) == {}
        # texts alone (only the text column located), mixed with whole documents in one reader
        assert reader.texts(want) == {i: docs[i].text for i in want}
        assert reader.get([31]) == {31: docs[31]} and reader.texts(range(56)) == {
            i: d.text for i, d in enumerate(docs)
        }
        assert reader.texts([]) == {}
        reader.close()


def test_get_reads_files_of_several_batches(tmp_path: Path) -> None:
    docs = _docs(0, 23)
    path = str(tmp_path / "s.arrow")
    for _ in write_store(path, docs, rows_per_batch=5):
        pass
    reader = StoreReader(path)
    assert reader.num_batches == 5
    assert reader.get(range(23)) == dict(enumerate(docs))
    assert [d.id for d in reader.batch_docs(4)] == [d.id for d in docs[20:]]


def test_align_task_results_equal_whether_the_store_reader_keeps_its_layouts(
    tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from copytrace.engines import local
    from copytrace.types import Settings

    base = (
        "the minister said on tuesday that the new budget would cut spending on roads and schools by a third "
    )
    docs = [Document(f"d{k}", f"intro {k} " + base * (1 + k % 3) + f" end {k}") for k in range(12)]
    files = [str(tmp_path / "a.arrow"), str(tmp_path / "b.arrow")]
    write_chunk(files[0], docs[:6])
    write_chunk(files[1], docs[6:])
    pairs = [(a, b) for a in range(12) for b in range(a + 1, 12) if (a + b) % 3]
    results = []
    for share in (1, 1 << 40):  # never released within the run / released after every task
        monkeypatch.setattr(local, "STORE_SHARE", share)
        local._init_worker(Settings(workers=1))
        ids, dates, sources = [d.id for d in docs], [d.date for d in docs], [d.source for d in docs]
        wires = [None] * len(docs)
        results.append(
            [
                local._align_task(local.align_task_args(files, pairs[k : k + 7], ids, dates, sources, wires))
                for k in range(0, len(pairs), 7)
            ]
        )
        local._close_store()
    assert results[0] == results[1]
    assert sum(len(r) for r in results[0]) == len(pairs)


def test_get_reads_a_compressed_file_through_its_mapping(tmp_path: Path) -> None:
    """A file whose buffers are compressed cannot be read in place with ``pread``: the reader
    falls back to decoding the batch, with the same documents."""
    import pyarrow as pa

    from copytrace.store import SCHEMA, _columns

    docs = _docs(0, 40)
    plain, packed = str(tmp_path / "plain.arrow"), str(tmp_path / "packed.arrow")
    write_chunk(plain, docs)
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.OSFile(packed, "wb") as sink, pa.ipc.new_file(sink, SCHEMA, options=options) as writer:
        writer.write_batch(pa.RecordBatch.from_pydict(_columns(docs), schema=SCHEMA))
    a, b = StoreReader([plain]), StoreReader([packed])
    assert a._place(0) is not None and b._place(0) is None
    want = list(range(40))
    assert a.get(want) == b.get(want) == dict(enumerate(docs))
    assert a.texts(want) == b.texts(want) == {i: d.text for i, d in enumerate(docs)}
    assert a.held() > 0 and b.held() == 0
    a.release()
    assert a.held() == 0


def test_postings_ranges_read_with_pread_equal_slices(tmp_path: Path) -> None:
    from copytrace.engines import local as eng

    rng = np.random.default_rng(3)
    h = np.sort(rng.integers(0, 1 << 63, 5000, dtype=np.uint64))
    h[100:140] = h[100]  # a run of equal hashes
    d = rng.integers(0, 1000, 5000).astype(np.int32)
    p = rng.integers(0, 800, 5000).astype(np.int32)
    path = str(tmp_path / "x.postings")
    eng.write_postings(path, h, d, p)
    for lo, hi in (
        (None, None),
        (int(h[100]), int(h[2000])),
        (None, int(h[0])),
        (int(h[-1]) + 1, None),
        (5, 5),
    ):
        i0 = 0 if lo is None else int(np.searchsorted(h, np.uint64(lo)))
        i1 = h.shape[0] if hi is None else int(np.searchsorted(h, np.uint64(hi)))
        got = eng.read_postings(path, lo, hi)
        for x, y in zip(got, (h[i0:i1], d[i0:i1], p[i0:i1]), strict=True):
            assert np.array_equal(x, y)
    n, sample = eng._sample_postings(path, 256)
    assert n == 5000 and np.array_equal(sample, h[:: 5000 // 256])


def test_read_at_reads_all_bytes_or_says_the_file_is_short(tmp_path: Path) -> None:
    import os

    import pytest

    from copytrace.store import read_at

    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)) * 4)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert read_at(fd, 10, 250) == bytes(range(250, 256)) + bytes(range(4))
        assert read_at(fd, 0, 5) == b""
        with pytest.raises(OSError, match="bytes short"):
            read_at(fd, 100, 1000)
    finally:
        os.close(fd)
