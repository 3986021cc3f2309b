"""Benchmarks of roadlink against the raw libraries it is built on, run as `python -m bench.<name>`.

Each benchmark prints an aligned table of its modes and, as its last line, one JSON object of headline
figures. The raw-library baseline is always measured in the same run, so the figures that matter are the
ratios to it (absolute numbers move by tens of percent between runs on shared machines; see
/work/shared/perf-ceilings.md).

- `python -m bench.uplink`: `BatchUplink` -> `PublishServicer` against raw `grpc.aio` streams.
"""
