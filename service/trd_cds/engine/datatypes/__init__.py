"""CQL System values: structured values and their semantics, temporal values, UCUM units, decimal maths."""
