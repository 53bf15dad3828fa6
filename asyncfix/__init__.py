"""asyncfix: find and fix blocking calls that freeze the event loop of Python async backends."""

__version__ = "0.1.0"
