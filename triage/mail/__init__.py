"""Reading mail: raw RFC 5322 bytes to a parsed message, and what is machine mail. Pure."""
