"""Platform: settings, the database, errors and the runtime every entry point shares; knows no feature."""
