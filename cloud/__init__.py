"""The carewatch cloud service: ingest, storage, dispatch and notifications."""
