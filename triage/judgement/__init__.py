"""Judgement: which class a message is, what to do with it, and who owns it. Pure."""
