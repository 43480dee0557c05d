"""Tests of kmodel.trace: the ftrace text parser and emitter."""
