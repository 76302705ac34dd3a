"""Tooling for the Makefile and CI; not part of the installed package."""
