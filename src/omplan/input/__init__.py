"""Reading plans: the file safety scan, table helpers and the reader (grids -> Plan + findings)."""
