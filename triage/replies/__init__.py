"""Replies: drafts for customers, and briefs and reminders for the people who own a problem. Pure."""
