"""Transports other than web chat: Twilio SMS and voice.

Pure formatting (what fits in a text message, what reads well aloud), the
SMS keywords, and the outbound Twilio client live here; the HTTP handlers
that use them are in `bot.gateway`. Nothing here does I/O at import time.
"""
