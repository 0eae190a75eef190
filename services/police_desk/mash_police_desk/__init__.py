"""Police desk."""
