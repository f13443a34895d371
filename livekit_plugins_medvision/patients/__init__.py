"""PatientContextProvider: patient context and avatar configuration from PostgreSQL."""

from .embedded import EmbeddedPostgres, start_embedded_postgres

__all__ = ["EmbeddedPostgres", "start_embedded_postgres"]
