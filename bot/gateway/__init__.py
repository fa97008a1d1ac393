"""The HTTP gateway: every transport a cardholder uses, in front of Rasa.

`app.create_app` builds the aiohttp application; `server.serve` runs it. The
web chat lives in `chat` (API) and `static/` (page), the inbox and its retry
worker in `inbox`, the Rasa client in `rasa`, and `GET /healthz` in `health`.
"""
