"""Built-in fakes of the outside systems, for the demo mode and for tests."""
