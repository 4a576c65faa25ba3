"""The operators' side: running the system, the `oms` command line, local servers."""
