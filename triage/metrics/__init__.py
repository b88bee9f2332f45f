"""Metrics: conversations, response times, draft acceptance, recurring fires. Pure."""
