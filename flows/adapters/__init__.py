"""Adapters: the outside world — HTTP (httpx), the blob store, BagIt, comment parsing and similarity."""
