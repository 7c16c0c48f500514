"""Use cases: plain functions, no Prefect, no httpx (ARCHITECTURE.md, "Layers")."""
