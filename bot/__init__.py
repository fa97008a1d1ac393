"""Card-servicing assistant: gateway, domain code and tooling around a Rasa 3.6 bot."""
