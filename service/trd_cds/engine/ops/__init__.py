"""Operator families; importing this package registers every ELM node type they compile."""
