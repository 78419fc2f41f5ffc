"""The fruits microservice's HTTP API: JSON over the records it owns in Redis."""
