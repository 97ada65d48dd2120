"""Quality gates with pinned floors (see eval/README.md)."""
