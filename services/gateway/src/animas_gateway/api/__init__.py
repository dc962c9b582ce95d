"""The HTTP API's route modules beyond chat and the admin edits: each exposes its operations."""
