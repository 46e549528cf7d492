"""Ingest: FOCUS billing, Kubernetes state, metric history, cloud APIs and the demo world."""
