"""The ways in: the command line, the Excel binding and batch runs."""
