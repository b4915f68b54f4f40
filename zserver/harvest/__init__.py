"""Harvesting other servers into the external-data catalog (`index.external`): SRU (`sru`),
Z39.50 (`z3950`) and OAI-PMH (`oai`) harvesters, the harvest run (`run`) and the commands
(`command`)."""
