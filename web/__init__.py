"""The web console and the HTTP API (/api/v1): a thin front door. Routers translate HTTP to the same use cases the
command line calls (flows/); no rule, query or transaction lives here."""
