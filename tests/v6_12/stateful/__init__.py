"""The state machines on the 6.12 model."""
