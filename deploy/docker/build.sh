#!/usr/bin/env bash
# Build both images from the repository root: the app image (gateway, action
# server, reminders, migrations) and the Rasa image carrying the model for the
# project as it is now (trained first if it is missing, exactly as `make run`).
#
#   deploy/docker/build.sh [TAG]       TAG defaults to the current commit
#
# Then set CARDBOT_IMAGE / RASA_IMAGE in deploy/.env (or push them to your
# registry for Kubernetes).
set -euo pipefail
cd "$(dirname "$0")/../.."

tag=${1:-$(git rev-parse --short HEAD 2>/dev/null || echo latest)}
app_image=${CARDBOT_IMAGE_NAME:-cardbot}
rasa_image=${RASA_IMAGE_NAME:-cardbot-rasa}

make --no-print-directory venvs
model=$(.venv/bin/python -m bot model ensure | tail -n 1)

docker build -f deploy/docker/Dockerfile -t "$app_image:$tag" .
docker build -f deploy/docker/Dockerfile.rasa \
  --build-arg "MODEL=models/$(basename "$model")" -t "$rasa_image:$tag" .

echo "built $app_image:$tag and $rasa_image:$tag (model $(basename "$model"))"
