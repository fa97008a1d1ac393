#!/bin/sh
# Serve the baked model the way `make run` does (bot/runner/supervisor.py):
# HTTP API on, protected by RASA_TOKEN, endpoints.yml filled from the
# environment (ACTION_ENDPOINT_URL, TRACKER_STORE_*, LOCK_STORE_*).
# Any arguments are appended to `rasa run`.
set -eu

if [ -z "${RASA_TOKEN:-}" ]; then
  echo "rasa-serve: RASA_TOKEN is empty; refusing to serve an unprotected HTTP API" >&2
  exit 64
fi

# One argument: a token may start with "-" (token_urlsafe).
exec rasa run \
  --model /app/models/model.tar.gz \
  --enable-api \
  "--auth-token=${RASA_TOKEN}" \
  --interface 0.0.0.0 \
  --port 5005 \
  --endpoints endpoints.yml \
  --credentials credentials.yml \
  "$@"
