"""Speed, scale and soak benchmarks: `rag bench` and docs/benchmarks.md."""
