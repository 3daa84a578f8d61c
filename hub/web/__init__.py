"""The web app's blueprints: login, the board, return details, health."""
