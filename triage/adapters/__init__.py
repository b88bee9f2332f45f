"""Adapters: the outside world behind small interfaces (IMAP, Maildir, SMTP, model files, Prometheus, CSV)."""
