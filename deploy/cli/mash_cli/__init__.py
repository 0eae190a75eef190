"""The operator's command line for the MASH mesh."""
