"""Returns (RMAs): models, the services that change them and the board's queries."""
