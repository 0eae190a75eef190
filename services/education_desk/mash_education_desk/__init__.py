"""Education desk."""
