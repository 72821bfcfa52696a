"""Compiling ELM to closures and running it: compiler, loaded libraries, evaluation state, node registry."""
