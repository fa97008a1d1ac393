"""Custom Rasa NLU components, imported by the Rasa process (it runs from the repo root)."""
