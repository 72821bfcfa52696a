"""Tooling around the CQL engine: the `trd-cds cql` command line, the HL7 conformance runner,
and the script that builds the packaged FHIR model from a model info XML."""
