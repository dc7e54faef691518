"""The broker as our processes and devices meet it: who may publish and subscribe to what (Mosquitto's password and
ACL files, from the database), and how a client of ours connects (TLS)."""
