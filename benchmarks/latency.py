"""Serving latency on CPU: p50/p95 of one ``recommend`` call and of a ``recommend_batch`` of 64.

    .venv/bin/python benchmarks/latency.py              # train briefly on ML-100k, then time
    .venv/bin/python benchmarks/latency.py --checkpoint artifacts/seed-42/best.pt
    make latency                                        # the first of the two

Timed calls are end to end as a service would make them: original ids in, a DataFrame of
the top ``k`` out (id mapping, model forward, exclusion, top-k, metadata). Histories are
the ML-100k users' test histories when the model is trained here, or random catalogue ids
of uniform random length in ``[1, max_len]`` with ``--checkpoint``. Prints a table and one
JSON line. Timings on a shared machine are inflated by the other processes' load. Torch's
CPU threads follow the training rule (``runtime.use_threads``: the physical cores less
one, or ``OMP_NUM_THREADS``) unless ``--threads`` says otherwise. Every argument is checked
before any work.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from sasrec_utils.config import SASRecConfig
from sasrec_utils.data.prepared import prepare_data
from sasrec_utils.data.sequences import item_popularity
from sasrec_utils.runtime import timed_ms, use_threads
from sasrec_utils.serving.recommend import Recommender
from sasrec_utils.training.loop import fit


def trained_on_ml100k(epochs: int, threads: int) -> tuple[Recommender, list[list[int]], str]:
    """A briefly trained default-config model and the test users' histories (original ids)."""
    cfg = SASRecConfig(device="cpu", epochs=epochs, num_threads=threads)
    prepared = prepare_data(cfg)
    data, split = prepared.sequences, prepared.split
    result = fit(cfg, prepared, progress=False)
    popularity = item_popularity(split.train, data.n_items)
    rec = Recommender.from_training(result.model, cfg, data.item_ids, prepared.items, popularity)
    test = split.test.histories
    histories = [data.to_original(test[row]).tolist() for row in range(len(test))]
    return rec, histories, f"ML-100k test histories ({epochs} training epochs)"


def from_checkpoint(
    path: str, n_histories: int, seed: int, threads: int
) -> tuple[Recommender, list, str]:
    """A loaded model and random histories of its catalogue's ids."""
    rec = Recommender.load(path, device="cpu")
    use_threads(threads)  # the command's threads, not the stored config's
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, rec.cfg.max_len + 1, size=n_histories)
    item_ids = rec.catalogue.item_ids
    histories = [rng.choice(item_ids, size=n, replace=False).tolist() for n in lengths]
    return rec, histories, f"random ids, length uniform in [1, {rec.cfg.max_len}]"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, every number checked (``SystemExit`` naming the argument)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="best.pt or a Recommender.save bundle")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs without one")
    parser.add_argument("--requests", type=int, default=300, help="single requests timed")
    parser.add_argument("--batches", type=int, default=30, help="batches timed")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: the rule)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lowest = {"epochs": 1, "requests": 1, "batches": 1, "batch_size": 1, "k": 1}
    for name, low in {**lowest, "threads": 0, "seed": 0}.items():
        if getattr(args, name) < low:
            option = "--" + name.replace("_", "-")
            parser.error(f"{option} must be an integer >= {low}, got {getattr(args, name)}")
    if args.checkpoint and not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint {args.checkpoint}: file not found")
    return args


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Time the requests; print the table and the JSON line, and return the summary."""
    args = arguments(argv)
    threads, why = use_threads(args.threads)
    print(f"torch threads: {threads} ({why})")
    if args.checkpoint:
        rec, histories, source = from_checkpoint(args.checkpoint, 1000, args.seed, threads)
    else:
        rec, histories, source = trained_on_ml100k(args.epochs, threads)
    rng = np.random.default_rng(args.seed)
    singles = [histories[i] for i in rng.integers(len(histories), size=args.requests)]
    batches = [
        [histories[i] for i in rng.integers(len(histories), size=args.batch_size)]
        for _ in range(args.batches)
    ]

    timed_ms(lambda h: rec.recommend(h, k=args.k), singles[:20])  # warm-up
    single = timed_ms(lambda h: rec.recommend(h, k=args.k), singles)
    batch = timed_ms(lambda hs: rec.recommend_batch(hs, k=args.k), batches)

    def row(times: np.ndarray) -> dict[str, float]:
        return {q: round(float(np.percentile(times, p)), 3) for q, p in (("p50", 50), ("p95", 95))}

    per_query = batch / args.batch_size
    results = {
        "single": row(single),
        f"batch{args.batch_size}": row(batch),
        "per_query_in_batch": row(per_query),
    }
    print(
        f"device cpu, {torch.get_num_threads()} threads, n_items {rec.n_items}, "
        f"max_len {rec.cfg.max_len}, k {args.k}; histories: {source}, mean length "
        f"{np.mean([len(h) for h in singles]):.0f}"
    )
    print(f"{'request':<22}{'calls':>7}{'p50 ms':>10}{'p95 ms':>10}")
    counts = {"single": args.requests, f"batch{args.batch_size}": args.batches}
    counts["per_query_in_batch"] = args.batches * args.batch_size
    for name, figures in results.items():
        print(f"{name:<22}{counts[name]:>7}{figures['p50']:>10.2f}{figures['p95']:>10.2f}")
    summary = {
        "benchmark": "latency",
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "n_items": rec.n_items,
        "max_len": rec.cfg.max_len,
        "k": args.k,
        "histories": source,
        **{f"{name}_{q}_ms": value for name, fig in results.items() for q, value in fig.items()},
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
