"""The browser fixtures (`browser`, `page`) are in tests/conftest.py, shared with the integration tier's web tests."""
