"""Speed and scale benchmarks: `rag bench` and docs/benchmarks.md."""
