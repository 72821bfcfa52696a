"""Population screening: every patient of a FHIR Bulk Data export (or a folder of Bundles)
through the rules of ``/evaluate``, locally on a process pool or on Apache Spark, into
assessments, a flat table and a report."""
