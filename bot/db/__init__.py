"""Persistence adapters: ORM models, engines and migrations."""
