"""The one small runtime library the MASH services share."""
