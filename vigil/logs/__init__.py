"""Logs (issue 20, L1–L2): entries taken from the shippers teams already run, kept in an
embedded compressed store with label and token indexes, queried with LogQL on Loki's HTTP
API, and alerted on through the rule manager."""
