"""The MASH hub research service."""
