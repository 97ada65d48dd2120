"""Speed benchmarks, each printing one comparable ratio."""
