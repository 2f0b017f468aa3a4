"""Under DDP the suite's loaders shard themselves: each rank gets disjoint batches, all ranks as many
steps, and every example is seen. (Lightning cannot re-create a custom batch sampler around its own
DistributedSampler, so sentiment, tagging and translation crashed under --strategy ddp before.)"""

from __future__ import annotations

import json

import pytest

from helpers import read_results, run_cli
from suite.data import text
from suite.data.text import LengthBucketSampler


@pytest.mark.parametrize("n, batch", [(103, 10), (100, 10), (7, 10)])
def test_bucketed_batches_are_sharded_disjointly_and_evenly(monkeypatch, n, batch):
    lengths = [(i * 7919) % 50 + 1 for i in range(n)]
    full = LengthBucketSampler(lengths, batch, shuffle=True, seed=3)
    full.set_epoch(2)
    everything = full.batches()
    shards = []
    for rank in (0, 1):
        monkeypatch.setattr(text, "distributed_world", lambda rank=rank: (rank, 2))
        sampler = LengthBucketSampler(lengths, batch, shuffle=True, seed=3)
        sampler.set_epoch(2)
        shards.append(list(sampler))
        assert len(sampler) == len(shards[-1])
    assert len(shards[0]) == len(shards[1])  # DDP needs the same number of steps on every rank
    seen = [i for shard in shards for b in shard for i in b]
    assert sorted(set(seen)) == list(range(n))  # every example
    padding = len(shards[0]) * 2 - len(everything)
    assert len(seen) - n == sum(len(b) for b in everything[:padding])  # repeats only to even out


@pytest.mark.realdata
def test_sentiment_trains_under_two_process_ddp(tmp_path, data_root):
    run_dir = tmp_path / "run"
    done = run_cli("--task", "sentiment", "--data", "sentiment/rt_polarity", "--data-root", str(data_root),
                   "--limit", "400", "--max-epochs", "2", "--hidden", "8", "--embedding-dim", "16", "--threads", "1",
                   "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp", "--run-dir", str(run_dir),
                   cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    results = read_results(run_dir)
    assert results["world_size"] == 2 and results["epochs_completed"] == 2
    batches = -(-results["data"]["train"] // results["config"]["train"]["batch_size"])
    steps_per_epoch = -(-batches // 2)  # the epoch's batches, split over two ranks
    assert results["global_steps"] == 2 * steps_per_epoch
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert sum(e["event"] == "started" for e in events) == 1  # one stream, from rank zero
