"""The probation desk: the Probation Service's records, researched and shared under its own policy."""
