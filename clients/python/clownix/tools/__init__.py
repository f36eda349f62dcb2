"""Small programs built on the client, each runnable as `python3 -m clownix.tools.NAME` and
installed as a command: watch_topology (clownix-watch-topology), create_network
(clownix-create-network)."""
