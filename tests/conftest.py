"""Test configuration: property tests explore freshly on every local run, and run the same
examples in CI (``CI`` set), so that a landing never depends on a random draw."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
