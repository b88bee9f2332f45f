"""Orchestration: the order of the steps of a poll; adapters arrive as arguments."""
