"""Locust users for the SIEM gateway's intakes and APIs (see load-tests/README.md)."""
