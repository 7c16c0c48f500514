"""Use cases (plain functions, no Prefect) and, beside them, the Prefect flows that wrap them."""
