"""Local tooling behind `make run`: .env, the model cache and the process supervisor."""
