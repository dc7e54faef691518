"""Storage: migrations, the connection pool, and the SQL of each table family. Knows nothing of MQTT or HTTP."""
