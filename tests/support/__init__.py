"""Helpers the tests share: real servers, a fixture website, polling with a deadline."""
