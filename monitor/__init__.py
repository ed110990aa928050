"""blindar: real-time data-leak monitor for contact centers (the service)."""
