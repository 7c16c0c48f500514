"""Orchestration: the only importer of Prefect — flows, tasks, worker, deployments, the local server."""
