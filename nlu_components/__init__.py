"""Custom Rasa NLU components, imported by the Rasa process (it runs from the repo root).

Importing the package also applies the Rasa server's profiled speed-ups
(`nlu_components.speedups`), so every way of starting Rasa gets them.
"""

from nlu_components import speedups

speedups.install()
