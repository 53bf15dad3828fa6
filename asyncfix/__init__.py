"""asyncfix: find and fix blocking calls that freeze the event loop of Python async backends."""

__version__ = "0.3.0"  # the cache is keyed by it: verdicts changed with the sqlite thread and lock forms
