"""Helpers shared by the tests: real processes on 127.0.0.1, free ports, bounded waits."""
