"""triage: works a support team's shared mailbox like the best front-line agent."""

__version__ = "0.1.0"
