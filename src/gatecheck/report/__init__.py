"""Reporters: pure functions from a `RunResult` to the text to print."""
