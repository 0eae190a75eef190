"""Children's social care desk."""
