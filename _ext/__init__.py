"""Sphinx extensions of this book (loaded by ``sphinx: local_extensions``)."""
