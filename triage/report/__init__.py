"""The weekly inbox-health report: figures, text, HTML, charts and the email. Pure."""
