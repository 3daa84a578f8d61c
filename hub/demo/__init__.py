"""The demo: a seeder that builds realistic history through the services, and its catalogue as data."""
