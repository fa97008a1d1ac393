"""Custom actions served by the rasa-sdk action server (`python -m rasa_sdk --actions actions`).

One module per action family. Actions stay thin: read the tracker, call domain
code in `bot/`, send responses. rasa-sdk imports every module here at start-up,
so modules must do no I/O at import time.
"""
