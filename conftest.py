"""Every pytest run in this repository loads the kata harness's plugin (src/kata/harness/plugin.py)."""

pytest_plugins = ["kata.harness.plugin"]
