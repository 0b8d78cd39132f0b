"""Every pytest run in this repository loads the kata harness's plugin (src/kata/plugin.py)."""

pytest_plugins = ["kata.plugin"]
