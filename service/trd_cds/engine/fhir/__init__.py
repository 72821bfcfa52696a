"""The FHIR model behind the data provider: model infos, and the provider that reads FHIR JSON."""
