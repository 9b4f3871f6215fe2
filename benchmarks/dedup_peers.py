"""Peer runners for ``bench_dedup.py``; run with the peers' own interpreter (see requirements-dedup.txt).

    python benchmarks/dedup_peers.py datatrove CORPUS_DIR --out DIR --workers 2
    python benchmarks/dedup_peers.py text-dedup-ids DIR          # kept ids of a text-dedup output

datatrove: its four MinHash stages (signature, buckets, cluster, filter) with the default
MinhashConfig (5-grams, 14 buckets x 8 hashes), each stage on a LocalPipelineExecutor with
``--workers`` tasks. Its English word tokenizer needs NLTK data that cannot be downloaded here,
so it gets a plain ``\\w+`` tokenizer (the shared benchmark tokenization). Writes
``kept_ids.txt`` (one id a line).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys

WORD = re.compile(r"\w+")


def run_datatrove(corpus: str, out: str, workers: int) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.word_tokenizers import WordTokenizer

    class Words(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return WORD.findall(text)

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [m.span() for m in WORD.finditer(text)]

    config = MinhashConfig()
    reader = JsonlReader(os.path.dirname(os.path.abspath(corpus)), glob_pattern=os.path.basename(corpus))
    logs = os.path.join(out, "logs")
    stage1 = LocalPipelineExecutor(
        pipeline=[
            reader,
            MinhashDedupSignature(output_folder=f"{out}/sigs", config=config, language=Words()),
        ],
        tasks=workers,
        workers=workers,
        logging_dir=f"{logs}/1",
    )
    stage2 = LocalPipelineExecutor(
        pipeline=[
            MinhashDedupBuckets(input_folder=f"{out}/sigs", output_folder=f"{out}/buckets", config=config)
        ],
        tasks=config.num_buckets,
        workers=workers,
        logging_dir=f"{logs}/2",
        depends=stage1,
    )
    stage3 = LocalPipelineExecutor(
        pipeline=[
            MinhashDedupCluster(
                input_folder=f"{out}/buckets", output_folder=f"{out}/remove_ids", config=config
            )
        ],
        tasks=1,
        logging_dir=f"{logs}/3",
        depends=stage2,
    )
    stage4 = LocalPipelineExecutor(
        pipeline=[
            reader,
            MinhashDedupFilter(input_folder=f"{out}/remove_ids"),
            JsonlWriter(f"{out}/kept", compression=None),
        ],
        tasks=workers,
        workers=workers,
        logging_dir=f"{logs}/4",
        depends=stage3,
    )
    stage4.run()
    ids = []
    for name in sorted(os.listdir(f"{out}/kept")):
        with open(os.path.join(out, "kept", name), encoding="utf-8") as fh:
            ids.extend(json.loads(line)["id"] for line in fh if line.strip())
    with open(os.path.join(out, "kept_ids.txt"), "w", encoding="utf-8") as fh:
        fh.write("".join(f"{i}\n" for i in ids))


def text_dedup_ids(out: str) -> None:
    from datasets import load_from_disk

    ds = load_from_disk(os.path.join(out, "ds"))
    with open(os.path.join(out, "kept_ids.txt"), "w", encoding="utf-8") as fh:
        fh.write("".join(f"{i}\n" for i in ds["id"]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["datatrove", "text-dedup-ids"])
    ap.add_argument("path")
    ap.add_argument("--out")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.what == "datatrove":
        run_datatrove(os.path.join(args.path, "corpus.jsonl"), args.out, args.workers)
    else:
        text_dedup_ids(args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
