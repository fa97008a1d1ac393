"""Demo data: the eight contract personas and a synthetic portfolio around them.

Everything here is fictional. `bot.demo.seed.seed_demo` is the entry point
(`python -m bot demo seed`); the other modules are pure data and generators.
"""
