"""Health desk."""
