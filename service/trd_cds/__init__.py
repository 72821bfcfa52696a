"""trd_cds."""
