"""The adult social care desk: adult social care's records, researched and shared under its own policy."""
